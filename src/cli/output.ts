// What the CLI prints and writes: JSON with no null where a number belongs, one-line error
// messages for the user, and output file names that never collide.
import { basename, extname } from 'node:path';
import { TsfaceError } from '../errors.ts';
import { describeFsError } from '../io/readFile.ts';

/**
 * JSON.stringify turns NaN and infinities into null, which reads as "no value" downstream;
 * tsface refuses to compute those, and if one still got here it is printed as a string.
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
}

const FS_CODES = new Set(['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'EEXIST', 'ENOSPC', 'EROFS', 'ELOOP', 'EMFILE', 'ENAMETOOLONG', 'EBUSY', 'EXDEV']);

/** A one-line message for an error the user can fix (bad input, a file-system problem), else null. */
export function userMessage(e: unknown): string | null {
  if (e instanceof TsfaceError) return e.message;
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && FS_CODES.has(err.code)) return `${err.path ?? ''}${err.path ? ': ' : ''}${describeFsError(err)}`;
  return null;
}

/**
 * One output name per input, `<base><suffix>`; inputs that share a base name (photo.jpg from
 * two folders) get `<base>-2<suffix>`, `<base>-3<suffix>`... in input order, so nothing is
 * silently overwritten.
 */
export function uniqueOutputNames(paths: readonly string[], suffix: string): string[] {
  const taken = new Set<string>();
  return paths.map((p) => {
    const base = basename(p, extname(p));
    let name = `${base}${suffix}`;
    for (let k = 2; taken.has(name); k++) name = `${base}-${k}${suffix}`;
    taken.add(name);
    return name;
  });
}

/** "photo.jpg: error: reason", without the path twice when the message already starts with it. */
export function imageErrorLine(path: string, message: string): string {
  const reason = message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message;
  return `${path}: error: ${reason}`;
}
