import { Worker } from 'node:worker_threads';
import type { Job } from './worker.ts';

/** A job without its sharing: the pool fills in id, counter, grain and total. */
type JobSpec = Job extends infer J ? (J extends Job ? Omit<J, 'id' | 'counter' | 'grain' | 'total'> : never) : never;

/** Runs shares of `grain` tasks taken from `counter` until all `total` are taken. */
export function takeShares(counter: Int32Array, grain: number, total: number, run: (from: number, to: number) => void): void {
  for (;;) {
    const from = Atomics.add(counter, 0, grain);
    if (from >= total) return;
    run(from, Math.min(total, from + grain));
  }
}

// Workers start from this script so that, when tsface runs from its TypeScript sources (under
// tsx), the worker registers the same loader before importing the kernel module.
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.entry);
})();
`;

function workerEntry(): { entry: string; tsx: string | null } {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return { entry: new URL('./worker.js', here).href, tsx: null };
  return { entry: new URL('./worker.ts', here).href, tsx: import.meta.resolve('tsx/esm/api') };
}

type Pending = { resolve: () => void; reject: (e: Error) => void };

/**
 * Splits a kernel's independent tasks between the calling thread and `size - 1` workers.
 * Tensors handed to it must live on SharedArrayBuffers. Workers are unref'd while idle so an
 * undisposed pool never keeps the process alive.
 */
export class ThreadPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private busy = 0;

  constructor(readonly size: number) {
    for (let i = 0; i < size - 1; i++) {
      const worker = new Worker(BOOTSTRAP, { eval: true, workerData: workerEntry() });
      worker.on('message', (m: { id: number; ok: boolean; message?: string }) => this.settle(m));
      worker.on('error', (e) => this.failAll(e));
      worker.unref();
      this.workers.push(worker);
    }
  }

  private settle(m: { id: number; ok: boolean; message?: string }): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (--this.busy === 0) for (const w of this.workers) w.unref();
    if (m.ok) p.resolve();
    else p.reject(new Error(`worker failed: ${m.message}`));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /**
   * Runs tasks [0, total) on this thread (through `runHere`) and the workers. Shares are taken
   * from a shared counter, a few per thread, so a thread that starts late or runs slower (a
   * worker's wake-up, a busy core) takes fewer instead of holding the others up.
   */
  async run(job: JobSpec, total: number, runHere: (from: number, to: number) => void): Promise<void> {
    const parts = Math.min(this.workers.length + 1, total);
    const grain = Math.max(1, Math.ceil(total / (parts * 4)));
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const waits: Promise<void>[] = [];
    for (let i = 0; i < parts - 1; i++) {
      const id = this.nextId++;
      const worker = this.workers[i];
      if (this.busy++ === 0) for (const w of this.workers) w.ref();
      waits.push(new Promise<void>((resolve, reject) => this.pending.set(id, { resolve, reject })));
      worker.postMessage({ ...job, id, counter, grain, total });
    }
    takeShares(counter, grain, total, runHere);
    await Promise.all(waits);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
