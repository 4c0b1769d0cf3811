// The CPU backend's released buffers, kept for reuse: a fresh buffer costs a page fault per 4 KB
// on first write, which on small VMs is a visible share of a batched pass, and a buffer dropped
// waits for the collector while the next pass allocates another.
//
// A need is served by the smallest spare that holds it, up to twice its size, as a view from
// the spare's start: P-Net's tiles of a large photo come in dozens of shapes (each pyramid
// level's last row and column), and with exact sizes only, most of a 12-megapixel detection's
// buffers were fresh (about 170 MB on each of two threads, all of it garbage soon after).
//
// After each pass the pool keeps no more than the largest of the last passes was handed: all a
// repeat of any of them needs, so it follows the nets that run now instead of holding every
// shape seen up to its ceiling.
import { isSharedMemory, newSharedMemory } from '../../platform/sharedMemory.ts';

/** A spare serves needs down to half its size: a larger one would hold memory a larger need may want. */
const MAX_SLACK = 2;
/** Passes whose largest hand-out bounds the pool (see endPass). */
const RECENT_PASSES = 8;

type Buffer = ArrayBuffer | SharedArrayBuffer;

/** Where a pass began: what the pool had handed out by then. */
export type PassMark = number;

export class BufferPool {
  /** Spare buffers by size, negative for shared memory. */
  private readonly bySize = new Map<number, Buffer[]>();
  /** The same buffers, oldest release first: the first to go when the pool is full. */
  private readonly order: Buffer[] = [];
  private bytes = 0;
  /** The most the pool keeps now: the ceiling, or less after passes. */
  private limit: number;
  /** Bytes of the buffers handed out so far, fresh or reused. */
  private handedOut = 0;
  private readonly recent: number[] = [];
  /** handedOut when the last pass ended. */
  private lastEnd = 0;
  /** Marks of the passes running now: while one runs, the pool keeps what it has been handed so far too. */
  private readonly open: PassMark[] = [];
  /** Floats of the view handed out over each buffer: only that view (or a whole buffer) comes back. */
  private readonly issued = new WeakMap<Buffer, number>();
  /** Bytes of fresh buffers made so far (the rest of what take() handed out was reused). */
  freshBytes = 0;

  constructor(private readonly ceiling: number) {
    this.limit = ceiling;
  }

  /** `length` floats, in a spare buffer where one fits, else a fresh one (shared memory when asked). */
  take(length: number, shared: boolean): Float32Array {
    const need = length * 4;
    let buffer = this.bestFit(need, shared);
    if (buffer) {
      this.remove(buffer);
    } else {
      buffer = shared ? newSharedMemory(need) : new ArrayBuffer(need);
      this.freshBytes += need;
    }
    this.handedOut += buffer.byteLength;
    this.issued.set(buffer, length);
    return new Float32Array(buffer, 0, length);
  }

  /**
   * Takes back `a`'s buffer when `a` spans it whole, or is the view take() handed out over it;
   * anything else (a slice of a larger array) is left alone.
   */
  give(a: Float32Array): void {
    const buffer = a.buffer;
    if (a.byteOffset !== 0 || buffer.byteLength === 0 || buffer.byteLength > this.ceiling) return;
    if (a.byteLength !== buffer.byteLength && this.issued.get(buffer) !== a.length) return;
    const key = keyOf(buffer);
    let list = this.bySize.get(key);
    if (!list) this.bySize.set(key, (list = []));
    if (list.includes(buffer)) return;
    this.drop(buffer.byteLength);
    list.push(buffer);
    this.order.push(buffer);
    this.bytes += buffer.byteLength;
  }

  /**
   * Lets give() take back `a` later although take() did not hand it out (a worker's output, moved
   * here); it counts as handed out, so the pass that adopts it keeps room for it (endPass).
   */
  adopt(a: Float32Array): void {
    if (a.byteOffset !== 0) return;
    this.issued.set(a.buffer, a.length);
    this.handedOut += a.buffer.byteLength;
  }

  /**
   * `a`'s buffer, for a message to move elsewhere, when `a` owns it (spans it whole or is the
   * view handed out over it) and it is not shared memory; null otherwise (send a copy).
   */
  transferable(a: Float32Array): ArrayBuffer | null {
    const buffer = a.buffer;
    if (a.byteOffset !== 0 || buffer.byteLength === 0 || isSharedMemory(buffer)) return null;
    if (a.byteLength !== buffer.byteLength && this.issued.get(buffer) !== a.length) return null;
    this.issued.delete(buffer);
    return buffer;
  }

  /** A plain spare holding `bytes` (as take() would pick it), out of the pool, to move to another thread; null when none fits. */
  takeSpare(bytes: number): ArrayBuffer | null {
    const buffer = this.bestFit(bytes, false) as ArrayBuffer | undefined;
    if (!buffer) return null;
    this.remove(buffer);
    return buffer;
  }

  startPass(): PassMark {
    this.open.push(this.handedOut);
    return this.handedOut;
  }

  /**
   * Ends the pass begun at `mark`: the pool keeps at most what the largest recent pass was handed,
   * counting what was handed out since the pass before ended (a batch's input, made between
   * passes and given back after this one, is part of what a repeat needs).
   */
  endPass(mark: PassMark): void {
    this.open.splice(this.open.indexOf(mark), 1);
    this.recent.push(this.handedOut - Math.min(mark, this.lastEnd));
    this.lastEnd = this.handedOut;
    if (this.recent.length > RECENT_PASSES) this.recent.shift();
    this.limit = Math.min(this.ceiling, Math.max(...this.recent));
    this.drop(0);
  }

  /** The smallest spare of the kind asked for that holds `need` bytes, at most MAX_SLACK times as large. */
  private bestFit(need: number, shared: boolean): Buffer | undefined {
    const exact = this.bySize.get(shared ? -need : need);
    if (exact?.length) return exact[exact.length - 1];
    let best = 0;
    for (const [key, list] of this.bySize) {
      const size = shared ? -key : key;
      if (list.length > 0 && size >= need && size <= need * MAX_SLACK && (best === 0 || size < best)) best = size;
    }
    if (best === 0) return undefined;
    const list = this.bySize.get(shared ? -best : best)!;
    return list[list.length - 1];
  }

  private remove(buffer: Buffer): void {
    const list = this.bySize.get(keyOf(buffer))!;
    list.splice(list.lastIndexOf(buffer), 1);
    this.order.splice(this.order.indexOf(buffer), 1);
    this.bytes -= buffer.byteLength;
  }

  /** Drops the oldest spares until `bytes` more fit under the limit (raised to what the oldest pass running has been handed). */
  private drop(bytes: number): void {
    const running = this.open.length > 0 ? this.handedOut - Math.min(...this.open) : 0;
    const limit = Math.min(this.ceiling, Math.max(this.limit, running));
    while (this.order.length > 0 && this.bytes + bytes > limit) this.remove(this.order[0]);
  }
}

function keyOf(buffer: Buffer): number {
  return isSharedMemory(buffer) ? -buffer.byteLength : buffer.byteLength;
}
