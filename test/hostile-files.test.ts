// Files that are not files: devices, FIFOs, directories and oversized files are refused before
// (or as soon as) reading shows it, within a second, with the error type of the reader.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readBoundedFile } from '../src/io/readFile.ts';
import { toRgbImage } from '../src/image/decode.ts';
import { ImageError } from '../src/errors.ts';
import { encodePng } from './helpers/png.ts';

const dir = mkdtempSync(join(tmpdir(), 'tsface-files-'));

function refusedUnread(path: string, pattern: RegExp): void {
  // The message names the file's kind, found by stat before any read: a device or a FIFO is
  // never read (a read of /dev/zero or an unopened FIFO would not end).
  assert.throws(() => toRgbImage(path), (e: unknown) => e instanceof ImageError && pattern.test(e.message) && e.message.startsWith(path), path);
}

test('devices are refused at once: /dev/zero, /dev/urandom, /dev/null', { skip: !existsSync('/dev/zero') && 'no /dev/zero here' }, () => {
  refusedUnread('/dev/zero', /is a character device, not a regular file/);
  refusedUnread('/dev/urandom', /is a character device, not a regular file/);
  refusedUnread('/dev/null', /is a character device, not a regular file/);
});

test('a FIFO with no writer is refused at once instead of blocking', { skip: process.platform === 'win32' && 'no FIFOs' }, () => {
  const fifo = join(dir, 'photo.jpg');
  execFileSync('mkfifo', [fifo]);
  refusedUnread(fifo, /is a FIFO, not a regular file/);
});

test('directories, missing files and files over maxBytes are one-line typed errors', () => {
  refusedUnread(dir, /is a directory, not a regular file/);
  refusedUnread(join(dir, 'absent.png'), /cannot read: ENOENT \(no such file or directory\)/);
  const png = join(dir, 'small.png');
  writeFileSync(png, encodePng(2, 2, 2, 8, new Array(12).fill(9)));
  assert.equal(toRgbImage(png).width, 2);
  assert.throws(() => toRgbImage(png, { maxBytes: 20 }), /small\.png: is \d+ bytes, over the limit of 20/);
});

test('readBoundedFile stops one byte past the limit even when the size is not known up front', { skip: !existsSync('/proc/self/status') && 'no /proc' }, () => {
  // /proc files report size 0 but have content: the limit holds while reading.
  const fail = (reason: string) => new ImageError(reason);
  assert.ok(readBoundedFile('/proc/self/status', 1 << 20, fail).length > 0);
  assert.throws(() => readBoundedFile('/proc/self/status', 10, fail), /over the limit of 10 bytes/);
});
