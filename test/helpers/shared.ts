import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** ../shared beside the repository: public images and references, read at test time only. */
export const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));

export function sharedPath(rel: string): string {
  return SHARED + rel;
}

/** Returns a skip reason (and says it loudly) when ../shared or the file is absent. */
export function sharedSkip(rel = ''): string | false {
  if (existsSync(SHARED + rel)) return false;
  const msg = `../shared/${rel} is absent: SKIPPING the tests that need it`;
  console.warn(`\n!!! ${msg} !!!\n`);
  return msg;
}
