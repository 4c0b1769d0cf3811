// Paths taken from input files (LFW pairs lists, reference indexes) must stay inside the folder
// the user named: "../../etc/passwd" in a data file must not become a file tsface opens.
import { isAbsolute, relative, resolve } from 'node:path';

/** `root` joined with `rel`, or null when the result would lie outside `root`. */
export function resolveInside(root: string, rel: string): string | null {
  if (rel.includes('\0') || isAbsolute(rel)) return null;
  const base = resolve(root);
  const full = resolve(base, rel);
  const back = relative(base, full);
  if (back === '' || back.startsWith('..') || isAbsolute(back)) return null;
  return full;
}
