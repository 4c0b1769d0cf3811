import { spawnKernelWorker, type KernelWorker } from '../../platform/index.ts';
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

type Pending = { resolve: () => void; reject: (e: Error) => void };

/**
 * Splits a kernel's independent tasks between the calling thread and `size - 1` workers.
 * Tensors handed to it must live on SharedArrayBuffers. Workers are unref'd while idle so an
 * undisposed pool never keeps the process alive.
 */
export class ThreadPool {
  private readonly workers: KernelWorker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private busy = 0;

  constructor(readonly size: number) {
    for (let i = 0; i < size - 1; i++) {
      this.workers.push(spawnKernelWorker((m) => this.settle(m), (e) => this.failAll(e)));
    }
  }

  private settle(m: { id: number; ok: boolean; message?: string }): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (--this.busy === 0) for (const w of this.workers) w.hold(false);
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
      if (this.busy++ === 0) for (const w of this.workers) w.hold(true);
      waits.push(new Promise<void>((resolve, reject) => this.pending.set(id, { resolve, reject })));
      worker.post({ ...job, id, counter, grain, total });
    }
    takeShares(counter, grain, total, runHere);
    await Promise.all(waits);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
