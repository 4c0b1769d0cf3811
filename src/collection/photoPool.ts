// Whole photos on worker threads (photoWorker.ts), each thread with its own one-thread backend
// and nets. A photo goes to the thread with the fewest waiting, at most two each, so no thread
// waits on this one between photos. A thread that dies fails the photos it held (their lines
// say so) and a fresh one takes its place; a thread that cannot start fails the whole pool.
import type { Worker } from 'node:worker_threads';
import { startNodeWorker } from '../platform/node.ts';
import { ArgumentError, TsfaceError } from '../errors.ts';
import { checkSettings, type ScanSettings } from './imageScanner.ts';

type CheckedSettings = ReturnType<typeof checkSettings>;
import type { CarriedError, PhotoBackendOptions, PhotoReply, PhotoRequest } from './photoWorker.ts';

export interface PhotoResult {
  /** The JSON line, newline included. */
  text: string;
  faces: number;
  failed: boolean;
}

interface Pending {
  resolve: (r: PhotoResult) => void;
  reject: (e: Error) => void;
}

interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
}

/** Photos each thread holds at once: the one it works on and the next. */
export const PHOTOS_PER_THREAD = 2;

/**
 * Released tensor memory each photo thread keeps for reuse. A one-thread backend keeps up to
 * 256 MiB; every photo thread keeping that much would multiply a scan's memory by its threads,
 * while a photo's own working set (a 4-megapixel photo's largest P-Net level included) needs
 * about half.
 */
export const PHOTO_SPARE_BYTES = 128 * 2 ** 20;

/** The error a thread sent, as this thread's own: a TsfaceError keeps its code (and the CLI its one-line message). */
function revive(e: CarriedError): Error {
  const err = e.code ? new TsfaceError(e.code, e.message) : new Error(e.message);
  err.name = e.name;
  return err;
}

export class PhotoPool {
  private readonly threads: Thread[] = [];
  private nextId = 1;
  private disposed = false;
  /** Set when a replacement thread could not start: every later photo fails with it. */
  private broken: Error | null = null;
  /** Replacements for dead threads, until they are ready (or fail). */
  private readonly starting = new Set<Promise<void>>();

  private constructor(readonly settings: CheckedSettings, private readonly backend: PhotoBackendOptions) {}

  /**
   * `size` threads, each with its nets loaded; rejects (with every thread stopped) if one cannot
   * start. `backend` picks the CPU kernels (default: as TSFACE_SIMD, TSFACE_WINOGRAD, TSFACE_FMA say)
   * and the memory each thread keeps for reuse (default PHOTO_SPARE_BYTES).
   */
  static async start(size: number, settings: ScanSettings, backend: PhotoBackendOptions = {}): Promise<PhotoPool> {
    if (!(Number.isInteger(size) && size >= 1)) throw new ArgumentError(`a photo pool needs a positive whole number of threads, got ${size}`);
    const pool = new PhotoPool(checkSettings(settings), { spareBytes: PHOTO_SPARE_BYTES, ...backend });
    const started = await Promise.allSettled(Array.from({ length: size }, () => pool.startThread()));
    const failed = started.find((s) => s.status === 'rejected');
    for (const s of started) if (s.status === 'fulfilled') pool.threads.push(s.value);
    if (failed) {
      await pool.dispose();
      throw (failed as PromiseRejectedResult).reason;
    }
    return pool;
  }

  get size(): number {
    return this.threads.length;
  }

  /** Photos a full pool holds at once. */
  get capacity(): number {
    return this.threads.length * PHOTOS_PER_THREAD;
  }

  private startThread(): Promise<Thread> {
    const worker = startNodeWorker(new URL('./photoWorker', import.meta.url));
    const thread: Thread = { worker, pending: new Map() };
    return new Promise<Thread>((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: PhotoReply) => {
        if (m.kind === 'ready') {
          ready = true;
          worker.unref();
          resolve(thread);
        } else if (m.kind === 'failed') {
          reject(revive(m.error));
          void worker.terminate();
        } else this.settle(thread, m);
      });
      const fail = (e: Error) => {
        if (!ready) reject(e);
        else this.threadDied(thread, e);
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`photo thread exited (code ${code})`)));
      worker.postMessage({ kind: 'init', settings: this.settings, backend: this.backend } satisfies PhotoRequest);
    });
  }

  /** The photo's line, scanned on the thread with the fewest photos waiting. */
  async scan(path: string, size: number, mtime: number): Promise<PhotoResult> {
    while (this.threads.length === 0 && this.starting.size > 0 && !this.disposed) await Promise.race(this.starting);
    if (this.broken) throw this.broken;
    if (this.disposed || this.threads.length === 0) throw new Error('photo pool disposed');
    const thread = this.threads.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    return new Promise<PhotoResult>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.ref();
      thread.worker.postMessage({ kind: 'photo', id, path, size, mtime } satisfies PhotoRequest);
    });
  }

  private settle(thread: Thread, m: Extract<PhotoReply, { kind: 'line' }>): void {
    const p = thread.pending.get(m.id);
    if (!p) return;
    thread.pending.delete(m.id);
    if (thread.pending.size === 0) thread.worker.unref();
    p.resolve({ text: m.text, faces: m.faces, failed: m.failed });
  }

  private threadDied(thread: Thread, e: Error): void {
    const at = this.threads.indexOf(thread);
    if (at < 0) return;
    this.threads.splice(at, 1);
    for (const p of thread.pending.values()) p.reject(e);
    thread.pending.clear();
    if (this.disposed) return;
    // The replacement joins when ready; until then the other threads take the photos.
    const replacement = this.startThread().then(
      (fresh) => { if (this.disposed) void fresh.worker.terminate(); else this.threads.push(fresh); },
      (err: Error) => { this.broken = err; },
    );
    this.starting.add(replacement);
    void replacement.finally(() => this.starting.delete(replacement));
  }

  /** Stops every thread; photos still held fail. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const threads = this.threads.splice(0);
    for (const t of threads) {
      for (const p of t.pending.values()) p.reject(new Error('photo pool disposed'));
      t.pending.clear();
    }
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }
}
