// The scan's output: one JSON object per line, one line per image. A line records the file's
// size and modification time, so a resumed scan knows which images are done and which changed.
import { closeSync, existsSync, ftruncateSync, fstatSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import type { Face } from '../pipeline/mtcnn.ts';
import { ArgumentError } from '../errors.ts';

export interface FaceRecord {
  box: Face['box'];
  score: number;
  landmarks: Face['landmarks'];
  embedding?: number[];
}

export interface ImageLine {
  image: string;
  size?: number;
  mtime?: number;
  width?: number;
  height?: number;
  /** The embedding model, on lines whose faces carry embeddings. */
  model?: string;
  faces?: FaceRecord[];
  error?: string;
}

/** What identifies an image's content for --resume: the same path, size and mtime is the same image. */
export function fileKey(size: number | undefined, mtimeMs: number | undefined): string {
  return size === undefined || mtimeMs === undefined ? 'unreadable' : `${size}:${mtimeMs}`;
}

/** A float32 in the fewest digits that read back as the same float32. */
export function shortFloat32(v: number): number {
  for (let digits = 6; digits < 9; digits++) {
    const shorter = Number(v.toPrecision(digits));
    if (Math.fround(shorter) === v) return shorter;
  }
  return Number(v.toPrecision(9));
}

/** Opens the output for appending or overwriting; a path that cannot be written is an ArgumentError, not a crash. */
export function openOutput(file: string, mode: 'a' | 'w'): number {
  try {
    return openSync(file, mode);
  } catch (e) {
    throw new ArgumentError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function formatLine(line: ImageLine): string {
  return `${JSON.stringify(line)}\n`;
}

/** A parsed line, or null for anything that is not an image line (a torn write, foreign text). */
export function parseLine(text: string): ImageLine | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || typeof (value as ImageLine).image !== 'string') return null;
  const line = value as ImageLine;
  if (typeof line.error !== 'string' && !Array.isArray(line.faces)) return null;
  return line;
}

const CHUNK = 1 << 20;

/** Calls `onLine` with each complete line of a file, read in chunks (memory stays flat); returns the byte length of the complete lines. */
export function forEachLine(file: string, onLine: (text: string) => void): number {
  const fd = openSync(file, 'r');
  const buffer = Buffer.alloc(CHUNK);
  let carry: Buffer = Buffer.alloc(0);
  let complete = 0;
  let position = 0;
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK, position);
      if (n === 0) break;
      position += n;
      let data: Buffer = carry.length ? Buffer.concat([carry, buffer.subarray(0, n)]) : buffer.subarray(0, n);
      let start = 0;
      for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
        onLine(data.toString('utf8', start, nl));
        complete += nl + 1 - start;
        start = nl + 1;
      }
      carry = Buffer.from(data.subarray(start));
      data = carry;
    }
  } finally {
    closeSync(fd);
  }
  return complete;
}

export interface ResumeState {
  /** path -> fileKey of the images whose lines are complete. */
  done: Map<string, string>;
  /** Lines that an uninterrupted run would not hold (unparseable, or a later line for the same path). */
  dropped: number;
}

/**
 * Reads what an earlier run wrote and cuts off a torn last line (a crash mid-write), so that
 * appending continues on a line boundary.
 */
export function readResumeState(file: string): ResumeState {
  const done = new Map<string, string>();
  let dropped = 0;
  if (!existsSync(file)) return { done, dropped };
  const complete = forEachLine(file, (text) => {
    const line = parseLine(text);
    if (!line) {
      dropped++;
      return;
    }
    if (done.has(line.image)) dropped++;
    done.set(line.image, fileKey(line.size, line.mtime));
  });
  const fd = openSync(file, 'r+');
  try {
    if (fstatSync(fd).size > complete) ftruncateSync(fd, complete);
  } finally {
    closeSync(fd);
  }
  return { done, dropped };
}

/**
 * Rewrites `file` keeping, per path, only the last line whose key is `wanted`'s, so a resumed run
 * ends with the lines an uninterrupted one would have written. Written beside and renamed over,
 * so a crash here leaves the previous file whole.
 */
export function compact(file: string, wanted: ReadonlyMap<string, string>): void {
  const lastAt = new Map<string, number>();
  let index = 0;
  forEachLine(file, (text) => {
    const line = parseLine(text);
    if (line && wanted.get(line.image) === fileKey(line.size, line.mtime)) lastAt.set(line.image, index);
    index++;
  });
  const keep = new Set(lastAt.values());
  const tmp = `${file}.compact-${process.pid}`;
  const out = openSync(tmp, 'w');
  try {
    index = 0;
    forEachLine(file, (text) => {
      if (keep.has(index++)) writeSync(out, `${text}\n`);
    });
  } finally {
    closeSync(out);
  }
  renameSync(tmp, file);
}
