import { mayBlockThread, nextTask, sharedMemoryUnavailable, spawnKernelWorker, type KernelWorker } from '../../platform/index.ts';
import { newSharedMemory } from '../../platform/sharedMemory.ts';
import { PlatformError } from '../../errors.ts';
import { Mailbox, type SpinFailure } from './handoff.ts';
import type { Job, ModulesMessage, Sharing } from './jobs.ts';
import { compiledModuleCount, compiledModules } from './wasm.ts';

/**
 * How an op's share reaches a worker: 'spin', through a mailbox on shared memory that a serving
 * worker watches (handoff.ts: microseconds), or 'message', by postMessage to the worker's event
 * loop and a reply through this thread's (about 0.1 ms each way). Whole passes always go by message.
 */
export type Handoff = 'spin' | 'message';

export interface ThreadPoolOptions {
  /** Default: 'message' (the CPU backend's default too; see CpuBackendOptions.handoff). */
  handoff?: Handoff;
}

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

/**
 * How `total` tasks are cut into shares between `parts` threads: normally shares of 1/(2 parts)
 * of what remains, down to 1/16 of a thread's part. Coarse (tasks whose first run on a thread
 * costs much, as a conv cut by channels transforms its whole input once per share): half of
 * what remains, down to half a thread's part, so each thread runs one or two shares.
 */
function sharingOf(counter: Int32Array, parts: number, total: number, coarse: boolean): Sharing {
  const grain = Math.max(1, Math.ceil(total / (parts * (coarse ? 2 : 16))));
  return { counter, grain, spread: coarse ? parts : 2 * parts, total };
}

type Pending = { resolve: (result: unknown) => void; reject: (e: Error) => void };

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
  /** Workers running a whole pass (acquire): no share of an op goes to them meanwhile. */
  private readonly reserved = new Set<number>();

  readonly handoff: Handoff;
  /** Ops offered to at least one worker so far (whether a worker took a share depends on timing). */
  sharedOps = 0;
  /** Each worker's mailbox (spin hand-off), made with the first op shared with it. */
  private readonly mailboxes: (Mailbox | null)[] = [];
  /** Why the workers cannot be used any more (one failed to start or died). */
  private dead: Error | null = null;

  constructor(readonly size: number, options: ThreadPoolOptions = {}) {
    // Shares are handed out through Atomics on shared memory, which only some hosts have.
    const missing = sharedMemoryUnavailable();
    if (missing && size > 1) throw new PlatformError(`no worker threads: ${missing}`);
    this.handoff = options.handoff ?? 'message';
    for (let i = 0; i < size - 1; i++) {
      this.workers.push(spawnKernelWorker((m) => this.settle(i, m), (e) => this.failAll(e)));
      this.mailboxes.push(null);
      this.modulesSent.push(0);
      this.posted.push(0);
    }
  }

  /** How many of this thread's compiled kernel modules each worker has been sent. */
  private readonly modulesSent: number[] = [];

  /** Messages posted to each worker so far (its mailbox is told, so a serving worker leaves to read them). */
  private readonly posted: number[] = [];

  /** Posts to a worker, after the kernel modules compiled here since its last message (wasm.ts). */
  private post(worker: number, message: object, transfer?: ArrayBuffer[]): void {
    // A mailbox's notice of collected buffers can come after dispose(): nobody is left to read it.
    if (!this.workers[worker]) return;
    const count = compiledModuleCount();
    if (count > this.modulesSent[worker]) {
      this.postCounted(worker, { kind: 'modules', modules: compiledModules(this.modulesSent[worker]) } satisfies ModulesMessage);
      this.modulesSent[worker] = count;
    }
    this.postCounted(worker, message, transfer);
  }

  private postCounted(worker: number, message: object, transfer?: ArrayBuffer[]): void {
    this.posted[worker]++;
    this.mailboxes[worker]?.notePosted(this.posted[worker]);
    this.workers[worker].post(message, transfer);
  }

  private mailbox(worker: number): Mailbox {
    return (this.mailboxes[worker] ??= new Mailbox((m) => this.post(worker, m)));
  }

  private settle(worker: number, m: { id: number; ok: boolean; message?: string; result?: unknown } | SpinFailure): void {
    if ('kind' in m) {
      this.mailboxes[worker]?.noteFailure(m);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (--this.busy === 0) for (const w of this.workers) w.hold(false);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(`worker failed: ${m.message}`));
  }

  /** Workers not running a whole pass. */
  private freeWorkers(): number[] {
    const free: number[] = [];
    for (let i = 0; i < this.workers.length; i++) if (!this.reserved.has(i)) free.push(i);
    return free;
  }

  /** How many workers could take a share of an op now. */
  get available(): number {
    return this.workers.length - this.reserved.size;
  }

  /** Takes a worker for a whole pass (see request), or null when all are taken. */
  acquire(): number | null {
    const free = this.freeWorkers();
    if (free.length === 0) return null;
    this.reserved.add(free[0]);
    return free[0];
  }

  /** Gives back a worker taken by acquire. */
  giveBack(worker: number): void {
    this.reserved.delete(worker);
  }

  /** Sends a message that needs no reply (it is handled before any later message to the worker). */
  send(worker: number, message: object): void {
    this.post(worker, message);
  }

  /** Sends a job to one worker (`transfer`: buffers it takes over); resolves with the `result` of its reply. */
  request(worker: number, job: object, transfer?: ArrayBuffer[]): Promise<unknown> {
    const id = this.nextId++;
    if (this.busy++ === 0) for (const w of this.workers) w.hold(true);
    const reply = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.post(worker, { ...job, id }, transfer);
    return reply;
  }

  private failAll(e: Error): void {
    this.dead = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /**
   * Runs tasks [0, total) on this thread (through `runHere`) and the workers. Shares are taken
   * from a shared counter, a few per thread, so a thread that starts late or runs slower (a
   * worker's wake-up, a busy core) takes fewer instead of holding the others up. `coarse`:
   * fewer, larger shares (sharingOf).
   */
  async run(job: JobSpec, total: number, runHere: (from: number, to: number) => void, coarse = false): Promise<void> {
    if (this.handoff === 'spin') return this.runSpin(job, total, runHere, coarse);
    const free = this.freeWorkers();
    const parts = Math.min(free.length + 1, total);
    if (parts > 1) this.sharedOps++;
    const counter = this.counters.pop() ?? new Int32Array(newSharedMemory(4));
    counter[0] = 0;
    const sharing = sharingOf(counter, parts, total, coarse);
    const waits: Promise<unknown>[] = [];
    for (let i = 0; i < parts - 1; i++) waits.push(this.request(free[i], { ...job, ...sharing }));
    try {
      takeShares(sharing, runHere);
    } finally {
      // Only once every worker has answered is the counter free for another op.
      const settled = await Promise.allSettled(waits);
      this.counters.push(counter);
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
  }

  /** run() through the workers' mailboxes: a worker that has not taken its share by the time this thread ran out of tasks is withdrawn, not waited for. */
  private async runSpin(job: JobSpec, total: number, runHere: (from: number, to: number) => void, coarse: boolean): Promise<void> {
    // A mailbox holds one job: one still out (an op of another pass awaiting its worker) is skipped.
    const boxes: Mailbox[] = [];
    for (const w of this.freeWorkers()) {
      if (boxes.length + 1 >= total) break;
      const box = this.mailbox(w);
      if (!box.busy) boxes.push(box);
    }
    const parts = boxes.length + 1;
    if (parts > 1) this.sharedOps++;
    const counter = this.counters.pop() ?? new Int32Array(newSharedMemory(4));
    counter[0] = 0;
    const sharing = sharingOf(counter, parts, total, coarse);
    if (parts > 1) {
      const shared = { ...job, ...sharing, id: 0 } as Job;
      for (const box of boxes) box.offer(shared);
    }
    let failure: unknown = null;
    try {
      takeShares(sharing, runHere);
    } catch (e) {
      failure = e;
    }
    // Only once every worker has withdrawn or finished is the counter free for another op.
    for (const box of boxes) {
      try {
        await box.conclude(() => this.dead);
      } catch (e) {
        failure ??= e;
      }
    }
    this.counters.push(counter);
    if (failure) throw failure;
    // A page's main thread that never leaves its microtasks (a net's ops awaited back to back,
    // none waiting on a worker) never lets a worker start: Chromium starts a new Web Worker
    // through its creator's event loop, and one that had not started took no share in thousands
    // of ops. While a worker is not serving, each op ends with a turn of the event loop.
    if (!mayBlockThread() && boxes.some((box) => box.idle)) await nextTask();
  }

  /** Task counters of finished runs, reused: a SharedArrayBuffer per op costs more than its op's message. */
  private readonly counters: Int32Array[] = [];

  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
