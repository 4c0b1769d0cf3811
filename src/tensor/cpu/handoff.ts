// The spin hand-off: how the thread pool gives a worker a share of an op in microseconds rather
// than the ~0.1 ms of a message (a structured clone, a wake-up through the worker's event loop, a
// reply through this one's). Each worker has a mailbox of words on shared memory. While it serves,
// the worker spins briefly on the mailbox and then sleeps in Atomics.wait, so an op is written
// there and the worker is woken directly. The op's arrays travel as ids of buffers the worker
// already holds, and its plain data (a conv's plan) as the id of a copy it already holds: both are
// sent once by message and only their ids per op. A worker that has waited long with nothing to
// do goes back to its event loop (where whole-pass jobs and the first sight of a buffer arrive by
// message) and is woken by a message the next time.
import { mayBlockThread } from '../../platform/index.ts';
import { atomicAdd, atomicLoad, atomicStore, atomicSwapIf, isSharedMemory, newSharedMemory, waitWhile, waitWhileAsync, wake } from '../../platform/sharedMemory.ts';
import type { Job } from './jobs.ts';

// Mailbox words.
/** The number of the last job written (jobs are numbered from 1). */
const SEQ = 0;
/** The last job number taken: by the worker to run it, or by the pool to withdraw it. */
const CLAIM = 1;
/** The last job number the worker finished. */
const DONE = 2;
/** Whether the worker is serving the mailbox (SERVING) or back in its event loop (IDLE). */
const STATE = 3;
/**
 * Messages the pool has posted to the worker so far: while it has received fewer, messages wait
 * in its event loop and it must not serve on. (A one-word flag set with some messages let a
 * wake-up that raced the worker's leaving sit ahead of a whole pass; the worker served that
 * wake-up, the flag already spent, for LINGER_MS while the pass waited: the 250 ms stalls of
 * a two-thread detection.)
 */
const POSTED = 4;
/** Registration messages sent so far: a job needing more than the worker has read waits for them. */
const REGISTERED = 5;
/** The last job number that failed on the worker (the message follows by postMessage). */
const FAILED = 6;
/** The job: its plain data's id, its sharing (see takeShares), its arrays. */
const REST = 7;
const GRAIN = 8;
const SPREAD = 9;
const TOTAL = 10;
const ARRAYS = 11;
const ARRAY0 = 12;
const MAX_ARRAYS = 12;
/**
 * Bumped with every new job and every message posted: a serving worker reads it before it looks
 * for either and sleeps only while it is unchanged, so no wake-up falls between its look and its
 * sleep (sleeping on SEQ missed a message's wake-up that way, for up to LINGER_MS).
 */
const EVENTS = ARRAY0 + 4 * MAX_ARRAYS;
const WORDS = EVENTS + 1;

/** Plain data kept by id, at most (then all are dropped and sent again as used): P-Net's plans differ with every image size. */
const MAX_RESTS = 2048;

const IDLE = 0;
const SERVING = 1;

/**
 * How long a serving worker spins on the mailbox before it sleeps, and the pool on a worker's
 * share before it blocks: waking a sleeping thread costs 30-100 us on the VMs measured (more
 * than a small op's share), and a pass's next op comes within a millisecond.
 */
const SPIN_MS = 1;
/** A worker serving with nothing to do goes back to its event loop after this long. */
const LINGER_MS = 250;
/** The pool blocks on a worker's share this long at most before polling (a crashed worker's error arrives as an event). */
const BLOCK_MS = 1000;
/** Where the thread may not block (a page's main thread) it spins this long before polling. */
const SPIN_UNBLOCKED_MS = 5;

/** Sent to a worker by message: the mailbox (first), buffers and plain data it will see by id, and ids it may forget. */
export interface SpinMessage {
  kind: 'spin';
  mailbox?: Int32Array;
  /** This message's number among those with registrations (0: a bare wake-up). */
  registration: number;
  buffers: [number, SharedArrayBuffer][];
  rests: [number, Record<string, unknown>][];
  forget: number[];
  /** Plain data of ids below this may go (read before `rests`). */
  forgetRestsBelow?: number;
}

/** A job that failed on a worker in the mailbox path: its number and why. */
export interface SpinFailure {
  kind: 'spinFailed';
  seq: number;
  message: string;
}

type JobArray = Float32Array | Int32Array;

const SHARING_KEYS = new Set(['counter', 'grain', 'spread', 'total']);

/** Tells a serving worker something came (a job or a message) and wakes it if it sleeps. */
function signal(words: Int32Array): void {
  atomicAdd(words, EVENTS, 1);
  wake(words, EVENTS);
}

/** Waits `ms` on a timer, which (unlike an asynchronous wait on shared memory) keeps a Node process alive. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The pool's side of one worker's mailbox. */
export class Mailbox {
  private readonly words = new Int32Array(newSharedMemory(WORDS * 4));
  private seq = 0;
  private registrations = 0;
  /** Whether a job of this mailbox is out (not yet withdrawn or done). */
  busy = false;
  private nextBuffer = 1;
  private readonly bufferIds = new WeakMap<SharedArrayBuffer, number>();
  private readonly restIds = new Map<string, number>();
  private nextRest = 1;
  /** Buffers this thread dropped, which the worker may drop too. */
  private forgetting: number[] = [];
  private readonly dropped = new FinalizationRegistry<number>((id) => {
    this.forgetting.push(id);
    if (this.forgetting.length >= 256) this.post({ kind: 'spin', registration: 0, buffers: [], rests: [], forget: this.takeForgetting() } satisfies SpinMessage);
  });
  private readonly failures = new Map<number, string>();
  private readonly failureWaits = new Map<number, (message: string) => void>();

  constructor(private readonly post: (m: object) => void) {
    this.registrations++;
    atomicStore(this.words, REGISTERED, this.registrations);
    this.post({ kind: 'spin', mailbox: this.words, registration: this.registrations, buffers: [], rests: [], forget: [] } satisfies SpinMessage);
  }

  private takeForgetting(): number[] {
    const ids = this.forgetting;
    this.forgetting = [];
    return ids;
  }

  /** Writes `job` into the mailbox and wakes the worker. Its arrays must be on shared memory. */
  offer(job: Job): void {
    const words = this.words;
    const buffers: [number, SharedArrayBuffer][] = [];
    const rests: [number, Record<string, unknown>][] = [];
    const rest: Record<string, unknown> = {};
    const keys: string[] = [];
    let k = 0;
    for (const key of Object.keys(job)) {
      const v = (job as unknown as Record<string, unknown>)[key];
      if (v instanceof Float32Array || v instanceof Int32Array) {
        if (k === MAX_ARRAYS) throw new Error(`a job of more than ${MAX_ARRAYS} arrays`);
        const buffer = v.buffer;
        if (!isSharedMemory(buffer)) throw new Error(`the job's ${key} is not on shared memory`);
        let id = this.bufferIds.get(buffer);
        if (id === undefined) {
          id = this.nextBuffer++;
          this.bufferIds.set(buffer, id);
          this.dropped.register(buffer, id);
          buffers.push([id, buffer]);
        }
        const at = ARRAY0 + 4 * k++;
        words[at] = id;
        words[at + 1] = v.byteOffset;
        words[at + 2] = v.length;
        words[at + 3] = v instanceof Float32Array ? 0 : 1;
        keys.push(key);
      } else if (key !== 'id' && !SHARING_KEYS.has(key)) rest[key] = v;
    }
    rest.$arrays = keys;
    const text = JSON.stringify(rest);
    let restId = this.restIds.get(text);
    let forgetRestsBelow: number | undefined;
    if (restId === undefined) {
      if (this.restIds.size >= MAX_RESTS) {
        this.restIds.clear();
        forgetRestsBelow = this.nextRest;
      }
      restId = this.nextRest++;
      this.restIds.set(text, restId);
      rests.push([restId, JSON.parse(text) as Record<string, unknown>]);
    }
    if (buffers.length > 0 || rests.length > 0) {
      // Sent before the job is written: the worker reads it in its event loop before it takes
      // the job (REGISTERED tells it there is one to read).
      this.registrations++;
      this.post({ kind: 'spin', registration: this.registrations, buffers, rests, forget: this.takeForgetting(), forgetRestsBelow } satisfies SpinMessage);
      atomicStore(words, REGISTERED, this.registrations);
    }
    words[REST] = restId;
    words[GRAIN] = job.grain;
    words[SPREAD] = job.spread;
    words[TOTAL] = job.total;
    words[ARRAYS] = k;
    this.busy = true;
    atomicStore(words, SEQ, ++this.seq);
    signal(words);
    // The worker writes STATE before it reads SEQ, this thread SEQ before STATE: one of them sees the other.
    if (atomicLoad(words, STATE) === IDLE) this.post({ kind: 'spin', registration: 0, buffers: [], rests: [], forget: [] } satisfies SpinMessage);
  }

  /**
   * Withdraws the job if the worker has not taken it yet, else waits until the worker is done
   * with it; `failed` says whether the worker has died meanwhile.
   */
  async conclude(failed: () => Error | null): Promise<void> {
    const words = this.words;
    const seq = this.seq;
    try {
      if (atomicSwapIf(words, CLAIM, seq - 1, seq) === seq - 1) return;
      const t0 = performance.now();
      for (;;) {
        const done = atomicLoad(words, DONE);
        if (done === seq) break;
        const waited = performance.now() - t0;
        if (waited < SPIN_MS) continue;
        if (waited < BLOCK_MS && waitWhile(words, DONE, done, BLOCK_MS - waited)) continue;
        if (waited < SPIN_UNBLOCKED_MS) continue;
        const dead = failed();
        if (dead) throw dead;
        // A page's main thread waits without blocking (a timer there is 4 ms once nested); Node,
        // after blocking BLOCK_MS, polls on a timer, which keeps the process alive.
        const woken = mayBlockThread() ? null : waitWhileAsync(words, DONE, done, 50);
        await (woken ?? sleep(1));
      }
      if (atomicLoad(words, FAILED) === seq) throw new Error(`worker failed: ${await this.failure(seq)}`);
    } finally {
      this.busy = false;
    }
  }

  /** Whether the worker is in its event loop rather than serving this mailbox. */
  get idle(): boolean {
    return atomicLoad(this.words, STATE) === IDLE;
  }

  /** Tells a serving worker that `posted` messages have been posted to it in all (the last one now): it leaves to read them. */
  notePosted(posted: number): void {
    atomicStore(this.words, POSTED, posted);
    signal(this.words);
  }

  /** The worker's report of a failed job (it comes by message). */
  noteFailure(f: SpinFailure): void {
    const waiting = this.failureWaits.get(f.seq);
    if (waiting) {
      this.failureWaits.delete(f.seq);
      waiting(f.message);
    } else this.failures.set(f.seq, f.message);
  }

  private failure(seq: number): Promise<string> {
    const known = this.failures.get(seq);
    if (known !== undefined) {
      this.failures.delete(seq);
      return Promise.resolve(known);
    }
    return new Promise((resolve) => this.failureWaits.set(seq, resolve));
  }
}

/** The worker's side of its mailbox. */
export class MailboxServer {
  private readonly buffers = new Map<number, SharedArrayBuffer>();
  private readonly rests = new Map<number, Record<string, unknown>>();
  private registered = 0;
  private lastSeq = 0;

  constructor(
    private readonly words: Int32Array,
    /** Runs the worker's shares of a job. */
    private readonly run: (job: Job) => void,
    private readonly report: (f: SpinFailure) => void,
    /** Messages the worker has received in all (its event loop counts them). */
    private readonly received: () => number,
  ) {}

  /** Takes in a registration message. */
  receive(m: SpinMessage): void {
    if (m.forgetRestsBelow !== undefined) for (const id of this.rests.keys()) if (id < m.forgetRestsBelow) this.rests.delete(id);
    for (const [id, buffer] of m.buffers) this.buffers.set(id, buffer);
    for (const [id, rest] of m.rests) this.rests.set(id, rest);
    for (const id of m.forget) this.buffers.delete(id);
    if (m.registration > this.registered) this.registered = m.registration;
  }

  private decode(): Job {
    const words = this.words;
    const rest = this.rests.get(words[REST]);
    if (!rest) throw new Error(`no job data ${words[REST]}`);
    const job: Record<string, unknown> = { ...rest, grain: words[GRAIN], spread: words[SPREAD], total: words[TOTAL] };
    const keys = rest.$arrays as string[];
    for (let k = 0; k < words[ARRAYS]; k++) {
      const at = ARRAY0 + 4 * k;
      const buffer = this.buffers.get(words[at]);
      if (!buffer) throw new Error(`no buffer ${words[at]}`);
      job[keys[k]] = words[at + 3] === 0 ? new Float32Array(buffer, words[at + 1], words[at + 2]) : new Int32Array(buffer, words[at + 1], words[at + 2]);
    }
    return job as unknown as Job;
  }

  /** Whether a new job is there that this worker can run (it has read every registration the job needs). */
  private ready(): boolean {
    return atomicLoad(this.words, SEQ) !== this.lastSeq && atomicLoad(this.words, REGISTERED) <= this.registered;
  }

  /** Leaves for the event loop unless a job came meanwhile; true: left. */
  private leave(): boolean {
    atomicStore(this.words, STATE, IDLE);
    if (!this.ready()) return true;
    atomicStore(this.words, STATE, SERVING);
    return false;
  }

  /**
   * Serves the mailbox until messages wait for the worker, a job needs a registration not yet
   * read, or nothing came for LINGER_MS, and says which. Blocks this thread's event loop meanwhile.
   */
  serve(): 'messages' | 'registration' | 'idle' {
    const words = this.words;
    atomicStore(words, STATE, SERVING);
    let idleSince = performance.now();
    let draining = false;
    for (;;) {
      const events = atomicLoad(words, EVENTS);
      const seq = atomicLoad(words, SEQ);
      if (seq !== this.lastSeq) {
        if (atomicLoad(words, REGISTERED) > this.registered) {
          if (this.leave()) return 'registration';
          continue;
        }
        this.lastSeq = seq;
        if (atomicSwapIf(words, CLAIM, seq - 1, seq) === seq - 1) {
          try {
            this.run(this.decode());
          } catch (e) {
            this.report({ kind: 'spinFailed', seq, message: String((e as Error)?.stack ?? e) });
            atomicStore(words, FAILED, seq);
          }
          atomicStore(words, DONE, seq);
          wake(words, DONE);
        }
        idleSince = performance.now();
        continue;
      }
      if (atomicLoad(words, POSTED) > this.received()) draining = true;
      // Jobs written meanwhile are served first (leave() stays for them), the messages after.
      if (draining) {
        if (this.leave()) return 'messages';
        continue;
      }
      const idle = performance.now() - idleSince;
      if (idle >= LINGER_MS) {
        if (this.leave()) return 'idle';
        continue;
      }
      if (idle >= SPIN_MS) waitWhile(words, EVENTS, events, LINGER_MS - idle);
    }
  }
}
