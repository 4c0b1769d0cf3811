// Writing output files so that a reader never sees half of one and a failure leaves nothing
// behind: bytes go to a temporary file beside the target, which is then renamed over it.
import { closeSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describeFsError } from './readFile.ts';

let counter = 0;

/** Writes `bytes` to `path` atomically; failures come back through `fail` as one-line reasons. */
export function writeFileAtomic(path: string, bytes: Uint8Array, fail: (reason: string) => Error): void {
  const folder = dirname(path);
  let folderStat;
  try {
    folderStat = statSync(folder);
  } catch (e) {
    throw fail(`cannot write: folder ${folder} ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `is not usable: ${describeFsError(e)}`}`);
  }
  if (!folderStat.isDirectory()) throw fail(`cannot write: ${folder} is not a folder`);
  let target;
  try {
    target = statSync(path, { throwIfNoEntry: false });
  } catch (e) {
    throw fail(`cannot write: ${describeFsError(e)}`);
  }
  if (target?.isDirectory()) throw fail('cannot write: a directory of that name is in the way');
  // Hidden, unique per process and call, so concurrent writers never share a temporary file.
  const tmp = join(folder, `.${basename(path)}.${process.pid}.${++counter}.partial`);
  try {
    const fd = openSync(tmp, 'wx');
    try {
      for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw fail(`cannot write: ${describeFsError(e)}`);
  }
}
