// A folder in, one JSON line per image out, written in walk order as each image is done. With
// one photo thread, decoding runs ahead on worker threads while the nets work on the current
// image here; with several, whole photos run at once on photo threads (photoPool.ts). Either
// way a bounded number of photos is in flight or waiting to be written, so memory stays flat
// over any number of images.
import { closeSync, existsSync, writeSync } from 'node:fs';
import type { RgbImage } from '../image/decode.ts';
import type { Backend } from '../tensor/backend.ts';
import { AbortedError, ArgumentError } from '../errors.ts';
import { DecodePool } from './decodePool.ts';
import { checkSettings, errorLine, ImageScanner, type ScanSettings } from './imageScanner.ts';
import { PhotoPool, type PhotoResult } from './photoPool.ts';
import type { PhotoBackendOptions } from './photoWorker.ts';
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
  /**
   * Photos scanned at once, each whole (read, decode, nets, line) on a thread of its own with a
   * one-thread CPU backend (`backend` is not used then). Default 1: every photo on `backend`
   * here, decoded ahead on `decoders` threads, which is also how a scan of fewer photos than
   * threads runs. A PhotoPool the caller started (with the same settings) is used as it is and
   * left running.
   */
  photoThreads?: number | PhotoPool;
  /**
   * The photo threads' CPU kernels; default: as TSFACE_SIMD, TSFACE_WINOGRAD and TSFACE_FMA say,
   * which is what a CpuBackend made without these options runs, so the lines are the bits a
   * one-thread scan on such a backend writes.
   */
  photoBackend?: PhotoBackendOptions;
  /** Stops the scan between photos with an AbortedError; the lines written so far stay, whole, for --resume. */
  signal?: AbortSignal;
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

const asResult = (line: ImageLine): PhotoResult => ({ text: formatLine(line), faces: line.faces?.length ?? 0, failed: line.error !== undefined });

/** Rejects with an AbortedError when the signal fires; never settles without one. */
function whenAborted(signal: AbortSignal | undefined): Promise<never> {
  const p = new Promise<never>((_, reject) => {
    if (!signal) return;
    if (signal.aborted) reject(new AbortedError(signal.reason));
    else signal.addEventListener('abort', () => reject(new AbortedError(signal.reason)), { once: true });
  });
  p.catch(() => {}); // raced against each photo; an abort nobody races is no unhandled rejection
  return p;
}

export async function runScan(o: ScanOptions): Promise<ScanSummary> {
  if (o.inputs.length === 0) throw new ArgumentError('no folder or image given');
  const decoders = o.decoders ?? 1;
  if (!(Number.isInteger(decoders) && decoders >= 1)) throw new ArgumentError(`decoders must be a positive integer, got ${decoders}`);
  const given = o.photoThreads instanceof PhotoPool ? o.photoThreads : null;
  const photoThreads = given ? given.size : (o.photoThreads as number | undefined) ?? 1;
  if (!(Number.isInteger(photoThreads) && photoThreads >= 1)) throw new ArgumentError(`photoThreads must be a positive integer, got ${photoThreads}`);
  const started = performance.now();
  const settings = checkSettings(o);
  if (given && JSON.stringify(given.settings) !== JSON.stringify(settings)) throw new ArgumentError(`the photo pool scans with ${JSON.stringify(given.settings)}, this scan asks for ${JSON.stringify(settings)}`);
  const threaded = !given && photoThreads > 1 ? o.photoBackend ?? {} : null;
  const resume = o.resume && existsSync(o.out) ? readResumeState(o.out) : null;

  const entries = [...walkImages(o.inputs)];
  const wanted = new Map(entries.map((e) => [e.path, entryKey(e)]));
  const todo = resume ? entries.filter((e) => resume.done.get(e.path) !== entryKey(e)) : entries;
  const summary: ScanSummary = { found: entries.length, skipped: entries.length - todo.length, scanned: 0, errors: 0, faces: 0, seconds: 0 };
  const aborted = whenAborted(o.signal);
  if (o.signal?.aborted) await aborted;

  // Threads start before the output opens: a thread that cannot load its nets leaves no file behind.
  let owned: PhotoPool | null = null;
  // Fewer photos than threads gain nothing from photo threads but their start: they run here,
  // where `backend`'s own threads (if it has any) share each photo's nets.
  if (threaded && todo.length >= photoThreads) {
    const starting = PhotoPool.start(photoThreads, settings, threaded);
    try {
      owned = await Promise.race([starting, aborted]);
    } catch (e) {
      void starting.then((p) => p.dispose(), () => {});
      throw e;
    }
  }
  const pool = given ?? owned;
  let fd: number;
  try {
    fd = openOutput(o.out, resume ? 'a' : 'w');
  } catch (e) {
    await owned?.dispose();
    throw e;
  }
  const progress = o.progress === null ? null : new Progress(todo.length, o.progress ?? process.stderr, o.progressEvery ?? 5);

  // Lines wait here until every earlier one is written; no photo starts more than `window` ahead
  // of the first unwritten one, so a slow photo cannot make the waiting lines pile up.
  const done: (PhotoResult | undefined)[] = [];
  let written = 0;
  let stopped = false;
  let waiting: (() => void)[] = [];
  const write = () => {
    for (let r = done[written]; r !== undefined && !stopped && !o.signal?.aborted; r = done[written]) {
      delete done[written++];
      writeSync(fd, r.text);
      summary.scanned++;
      if (r.failed) summary.errors++;
      summary.faces += r.faces;
      progress?.tick(r.failed);
    }
    const wake = waiting;
    waiting = [];
    for (const w of wake) w();
  };
  const roomFor = async (i: number, window: number) => {
    while (i >= written + window) await new Promise<void>((r) => waiting.push(r));
  };
  const statOf = (e: WalkEntry) => ('error' in e ? {} : { size: e.size, mtime: e.mtimeMs });

  const decodePool = pool || todo.length === 0 ? null : new DecodePool(decoders, settings.maxPixels);
  try {
    if (pool) {
      const window = 4 * pool.capacity;
      let next = 0;
      await Promise.race([aborted, Promise.all(Array.from({ length: pool.capacity }, async () => {
        for (let i = next++; i < todo.length && !stopped; i = next++) {
          await roomFor(i, window);
          const e = todo[i];
          if ('error' in e) done[i] = asResult(errorLine(e.path, new Error(e.error)));
          else {
            try {
              done[i] = await pool.scan(e.path, e.size, e.mtimeMs);
            } catch (err) {
              // A photo thread that died (out of memory on one photo, say) fails only the photos it held.
              done[i] = asResult(errorLine(e.path, err as Error, statOf(e)));
            }
          }
          write();
        }
      }))]);
    } else if (decodePool) {
      await scanHere(o, settings, todo, decodePool, decoders, (i, line) => { done[i] = asResult(line); write(); }, aborted, () => stopped);
    }
  } finally {
    stopped = true;
    await owned?.dispose();
    await decodePool?.dispose();
    closeSync(fd);
  }
  progress?.finish();
  if (resume && (resume.dropped > 0 || [...resume.done].some(([path, key]) => wanted.get(path) !== key))) compact(o.out, wanted);
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

/** Every photo on `o.backend` here, decoded ahead on the decoding threads. */
async function scanHere(
  o: ScanOptions,
  settings: ScanSettings,
  todo: readonly WalkEntry[],
  decodePool: DecodePool,
  decoders: number,
  finished: (i: number, line: ImageLine) => void,
  aborted: Promise<never>,
  stopped: () => boolean,
): Promise<void> {
  const scanner = new ImageScanner(o.backend, settings);
  const lookahead = 2 * decoders + 1;
  const slots: Promise<Decoded>[] = [];
  const request = (i: number) => {
    const e = todo[i];
    slots[i] = 'error' in e ? Promise.resolve({ error: new Error(e.error) }) : decodePool.decode(e.path).then((image) => ({ image }), (error: Error) => ({ error }));
  };
  // Images go through the nets `lanes` at a time (the backend's threads each run whole passes
  // of one image's nets); their lines are written in walk order all the same.
  const lanes = Math.max(1, Math.min(todo.length, o.backend.concurrentPasses?.() ?? 1));
  for (let i = 0; i < Math.min(lookahead, todo.length); i++) request(i);
  let next = 0;
  await Promise.race([aborted, Promise.all(Array.from({ length: lanes }, async () => {
    for (let i = next++; i < todo.length && !stopped(); i = next++) {
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
      finished(i, line);
    }
  }))]);
}
