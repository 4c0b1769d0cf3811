import { spawnKernelWorker, type KernelWorker } from '../../platform/index.ts';
import type { Job, Sharing } from './worker.ts';

/** A job without its sharing: the pool fills in id and the Sharing fields. */
type JobSpec = Job extends infer J ? (J extends Job ? Omit<J, 'id' | keyof Sharing> : never) : never;

/**
 * Runs shares of the tasks [0, total) taken from `counter` until all are taken. A share is
 * 1/spread of what remains (at least `grain` tasks): large shares first keep the per-share
 * costs (a band of input copied, a worker's wake-up) rare, and small ones at the end let the
 * threads finish together.
 */
export function takeShares(s: Sharing, run: (from: number, to: number) => void): void {
  const { counter, grain, spread, total } = s;
  for (;;) {
    const from = Atomics.load(counter, 0);
    if (from >= total) return;
    const to = Math.min(total, from + Math.max(grain, Math.ceil((total - from) / spread)));
    if (Atomics.compareExchange(counter, 0, from, to) === from) run(from, to);
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
    const sharing: Sharing = { counter: new Int32Array(new SharedArrayBuffer(4)), grain: Math.max(1, Math.ceil(total / (parts * 16))), spread: 2 * parts, total };
    const waits: Promise<void>[] = [];
    for (let i = 0; i < parts - 1; i++) {
      const id = this.nextId++;
      const worker = this.workers[i];
      if (this.busy++ === 0) for (const w of this.workers) w.hold(true);
      waits.push(new Promise<void>((resolve, reject) => this.pending.set(id, { resolve, reject })));
      worker.post({ ...job, id, ...sharing });
    }
    takeShares(sharing, runHere);
    await Promise.all(waits);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
