// A folder in, one JSON line per image out, written as each image is done. Decoding runs ahead
// on worker threads while the nets work on the current image; at most `lookahead` decoded images
// wait at any time, so memory stays flat over any number of images.
import { closeSync, existsSync, writeSync } from 'node:fs';
import type { RgbImage } from '../image/decode.ts';
import type { Backend } from '../tensor/backend.ts';
import { ArgumentError } from '../errors.ts';
import { DecodePool } from './decodePool.ts';
import { errorLine, ImageScanner, type ScanSettings } from './imageScanner.ts';
import { compact, fileKey, formatLine, openOutput, readResumeState, type ImageLine } from './jsonl.ts';
import { Progress, type ProgressStream } from './progress.ts';
import { walkImages, type WalkEntry } from './walk.ts';

export interface ScanOptions extends ScanSettings {
  inputs: readonly string[];
  out: string;
  backend: Backend;
  /** Skip images already in `out` with the same size and mtime; otherwise `out` is overwritten. */
  resume?: boolean;
  /** Decoding threads (default 1). */
  decoders?: number;
  /** Where progress goes (default stderr); null for none. */
  progress?: ProgressStream | null;
  /** Seconds between plain progress lines off a terminal (default 5). */
  progressEvery?: number;
}

export interface ScanSummary {
  /** Images found by the walk. */
  found: number;
  /** Images skipped because --resume found their lines. */
  skipped: number;
  scanned: number;
  errors: number;
  faces: number;
  seconds: number;
}

const entryKey = (e: WalkEntry) => ('error' in e ? fileKey(undefined, undefined) : fileKey(e.size, e.mtimeMs));

type Decoded = { image: RgbImage } | { error: Error };

export async function runScan(o: ScanOptions): Promise<ScanSummary> {
  if (o.inputs.length === 0) throw new ArgumentError('no folder or image given');
  const decoders = o.decoders ?? 1;
  if (!(Number.isInteger(decoders) && decoders >= 1)) throw new ArgumentError(`decoders must be a positive integer, got ${decoders}`);
  const started = performance.now();
  const scanner = new ImageScanner(o.backend, o);
  const resume = o.resume && existsSync(o.out) ? readResumeState(o.out) : null;

  const entries = [...walkImages(o.inputs)];
  const wanted = new Map(entries.map((e) => [e.path, entryKey(e)]));
  const todo = resume ? entries.filter((e) => resume.done.get(e.path) !== entryKey(e)) : entries;
  const summary: ScanSummary = { found: entries.length, skipped: entries.length - todo.length, scanned: 0, errors: 0, faces: 0, seconds: 0 };

  const fd = openOutput(o.out, resume ? 'a' : 'w');
  const pool = new DecodePool(decoders, scanner.settings.maxPixels);
  const progress = o.progress === null ? null : new Progress(todo.length, o.progress ?? process.stderr, o.progressEvery ?? 5);
  const lookahead = 2 * decoders + 1;
  const slots: Promise<Decoded>[] = [];
  const request = (i: number) => {
    const e = todo[i];
    slots[i] = 'error' in e ? Promise.resolve({ error: new Error(e.error) }) : pool.decode(e.path).then((image) => ({ image }), (error: Error) => ({ error }));
  };
  // Images go through the nets `lanes` at a time (the backend's threads each run whole passes
  // of one image's nets); their lines are written in walk order all the same.
  const lanes = Math.max(1, Math.min(todo.length, o.backend.concurrentPasses?.() ?? 1));
  const done: (ImageLine | undefined)[] = [];
  let written = 0;
  const write = () => {
    for (let line = done[written]; line !== undefined; line = done[written]) {
      delete done[written++];
      writeSync(fd, formatLine(line));
      summary.scanned++;
      if (line.error) summary.errors++;
      summary.faces += line.faces?.length ?? 0;
      progress?.tick(line.error !== undefined);
    }
  };
  try {
    for (let i = 0; i < Math.min(lookahead, todo.length); i++) request(i);
    let next = 0;
    await Promise.all(Array.from({ length: lanes }, async () => {
      for (let i = next++; i < todo.length; i = next++) {
        if (i + lookahead < todo.length) request(i + lookahead);
        const decoded = await slots[i];
        delete slots[i];
        const e = todo[i];
        const stat = 'error' in e ? {} : { size: e.size, mtime: e.mtimeMs };
        let line: ImageLine;
        if ('error' in decoded) line = errorLine(e.path, decoded.error, stat);
        else {
          try {
            line = await scanner.analyse(e.path, decoded.image, stat);
          } catch (err) {
            // One image the nets cannot take must not end a scan of thousands: it gets an error line.
            line = errorLine(e.path, err as Error, stat);
          }
        }
        done[i] = line;
        write();
      }
    }));
  } finally {
    await pool.dispose();
    closeSync(fd);
  }
  progress?.finish();
  if (resume && (resume.dropped > 0 || [...resume.done].some(([path, key]) => wanted.get(path) !== key))) compact(o.out, wanted);
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}
