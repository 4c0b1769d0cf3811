// The images of a collection: every regular file named *.jpg, *.jpeg or *.png (any case) under
// the arguments, in a stable order (arguments as given, directory entries sorted by name).
// Symlinked folders are followed; each folder and each file is visited once by its device and
// inode, so a symlink loop ends and a file reached twice gets one line.
import { opendirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';

export const IMAGE_NAME = /\.(jpe?g|png)$/i;

export type WalkEntry =
  | { path: string; size: number; mtimeMs: number }
  | { path: string; error: string };

function identity(s: Stats): string {
  return `${s.dev}:${s.ino}`;
}

function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/** Entries of one folder by name; names only, so a folder of any size costs its names and no more. */
function folderNames(dir: string): string[] {
  const names: string[] = [];
  const handle = opendirSync(dir);
  try {
    for (let entry = handle.readSync(); entry; entry = handle.readSync()) names.push(entry.name);
  } finally {
    handle.closeSync();
  }
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Yields each image once with its size and modification time, or an error entry for an image
 * name (or a folder) that cannot be read. Files named on the command line are taken whatever
 * their extension, as the user asked for them by name.
 */
export function* walkImages(roots: readonly string[]): Generator<WalkEntry> {
  const seen = new Set<string>();
  function* visit(path: string, named: boolean): Generator<WalkEntry> {
    let s: Stats;
    try {
      s = statSync(path); // follows symlinks: a linked folder is walked, a dangling link is an error
    } catch (e) {
      if (named || IMAGE_NAME.test(path)) yield { path, error: `cannot read: ${errorCode(e)}` };
      return;
    }
    if (s.isDirectory()) {
      if (seen.has(identity(s))) return;
      seen.add(identity(s));
      let names: string[];
      try {
        names = folderNames(path);
      } catch (e) {
        yield { path, error: `cannot read folder: ${errorCode(e)}` };
        return;
      }
      for (const name of names) yield* visit(join(path, name), false);
      return;
    }
    if (!named && !IMAGE_NAME.test(path)) return;
    if (!s.isFile()) {
      yield { path, error: 'not a regular file' };
      return;
    }
    if (seen.has(identity(s))) return;
    seen.add(identity(s));
    yield { path, size: s.size, mtimeMs: s.mtimeMs };
  }
  for (const root of roots) yield* visit(root, true);
}
