// The one place tsface reads a file from disk (a browser build swaps this module out). Only
// regular files are read, and never more than a limit: a device such as /dev/zero would
// otherwise grow memory without end, and a FIFO would block the process forever.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * Reads a whole regular file of at most `maxBytes` bytes. Failures come back through `fail`
 * (one line, the reason), so each caller raises its own typed error naming the file.
 */
export function readBoundedFile(path: string, maxBytes: number, fail: (reason: string) => Error): Uint8Array {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer;
    // fstat then refuses it before anything is read. It changes nothing for regular files.
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw fail(`cannot read: ${describeFsError(e)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw fail(`is ${kindOf(st)}, not a regular file`);
    if (st.size > maxBytes) throw fail(`is ${st.size} bytes, over the limit of ${maxBytes}`);
    // Read until end of file rather than trusting st.size: the file may change, and some
    // (/proc) report 0. One byte past the limit is enough to know it is too large.
    let buf = new Uint8Array(Math.min(maxBytes + 1, Math.max(st.size + 1, 4096)));
    let length = 0;
    for (;;) {
      if (length === buf.length) {
        if (length > maxBytes) throw fail(`is over the limit of ${maxBytes} bytes`);
        const grown = new Uint8Array(Math.min(maxBytes + 1, buf.length * 2));
        grown.set(buf);
        buf = grown;
      }
      let n: number;
      try {
        n = readSync(fd, buf, length, buf.length - length, null);
      } catch (e) {
        throw fail(`cannot read: ${describeFsError(e)}`);
      }
      if (n === 0) break;
      length += n;
    }
    if (length > maxBytes) throw fail(`is over the limit of ${maxBytes} bytes`);
    return length === buf.length ? buf : buf.slice(0, length);
  } finally {
    closeSync(fd);
  }
}

/** Reads a text file as UTF-8 under the same rules. */
export function readBoundedText(path: string, maxBytes: number, fail: (reason: string) => Error): string {
  return new TextDecoder().decode(readBoundedFile(path, maxBytes, fail));
}

/** "ENOENT (no such file or directory)" rather than Node's message with the syscall and path. */
export function describeFsError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file or directory', EACCES: 'permission denied', EISDIR: 'is a directory', ENOTDIR: 'a parent is not a directory',
    EEXIST: 'already exists', ENOSPC: 'no space left on device', EROFS: 'read-only file system', ELOOP: 'too many symbolic links', EMFILE: 'too many open files',
  };
  return err?.code ? `${err.code} (${reasons[err.code] ?? 'file system error'})` : String((e as Error)?.message ?? e);
}
