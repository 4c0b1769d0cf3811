// A training set on disk: one folder per person under a root, their photos inside (LFW's
// layout: <root>/<Name>/<Name>_0001.jpg). Photos in deeper folders belong to the identity whose
// folder holds them; files directly under the root belong to no one and are counted.
import { statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { walkImages } from '../collection/walk.ts';
import { describeFsError } from '../io/readFile.ts';
import { ArgumentError } from '../errors.ts';
import { opendirSync } from 'node:fs';

export interface IdentityFolder {
  name: string;
  /** Image paths, sorted, so every run sees the same order. */
  files: string[];
}

export interface IdentityListing {
  identities: IdentityFolder[];
  /** Files directly under the root (no identity) and entries the walk could not read. */
  loose: number;
  unreadable: { path: string; reason: string }[];
}

export function listIdentityFolders(root: string): IdentityListing {
  let s;
  try {
    s = statSync(root);
  } catch (e) {
    throw new ArgumentError(`training folder ${root}: ${describeFsError(e)}`);
  }
  if (!s.isDirectory()) throw new ArgumentError(`training folder ${root} is not a folder (expected one folder per person inside)`);
  const names: string[] = [];
  let loose = 0;
  const dir = opendirSync(root);
  try {
    for (let e = dir.readSync(); e; e = dir.readSync()) {
      if (e.name.startsWith('.')) continue;
      const full = join(root, e.name);
      let isDir = e.isDirectory();
      if (e.isSymbolicLink()) isDir = statSync(full, { throwIfNoEntry: false })?.isDirectory() ?? false;
      if (isDir) names.push(e.name);
      else loose++;
    }
  } finally {
    dir.closeSync();
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const identities: IdentityFolder[] = [];
  const unreadable: { path: string; reason: string }[] = [];
  for (const name of names) {
    const files: string[] = [];
    for (const entry of walkImages([join(root, name)])) {
      if ('error' in entry) unreadable.push({ path: entry.path, reason: entry.error });
      else if (!basename(entry.path).startsWith('.')) files.push(entry.path);
    }
    if (files.length) identities.push({ name, files });
  }
  return { identities, loose, unreadable };
}
