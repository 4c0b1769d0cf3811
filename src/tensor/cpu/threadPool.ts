import { Worker } from 'node:worker_threads';
import type { Job } from './worker.ts';

/** A job without its share: the pool fills in id, from and to. */
type JobSpec = Job extends infer J ? (J extends Job ? Omit<J, 'id' | 'from' | 'to'> : never) : never;

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
   * Runs tasks [0, total): the workers take the first shares, this thread the last one
   * (through `runHere`), then waits for the workers.
   */
  async run(job: JobSpec, total: number, runHere: (from: number, to: number) => void): Promise<void> {
    const parts = Math.min(this.workers.length + 1, total);
    const bounds = (i: number) => Math.round((total * i) / parts);
    const waits: Promise<void>[] = [];
    for (let i = 0; i < parts - 1; i++) {
      const id = this.nextId++;
      const worker = this.workers[i];
      if (this.busy++ === 0) for (const w of this.workers) w.ref();
      waits.push(new Promise<void>((resolve, reject) => this.pending.set(id, { resolve, reject })));
      worker.postMessage({ ...job, id, from: bounds(i), to: bounds(i + 1) });
    }
    runHere(bounds(parts - 1), total);
    await Promise.all(waits);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
