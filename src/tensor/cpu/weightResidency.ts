// Weights that stay in a kernel's WebAssembly memory between calls. A conv copied its packed
// weights into the kernel's memory at every call: for one face through nn4.small2 that is 18 MB a
// pass, about 1.1 ms of its 16 (more than the L2 holds, so every call read them from further out
// and wrote them again). Weight arrays the backend marks immutable (ConvPlan.residentWeights) are
// copied once per thread instead, to the front of that thread's memory; each call's working
// regions start after them.
import { ensureBytes } from './wasm.ts';

/**
 * Resident bytes per kernel memory, at most. Past it every resident copy is dropped and the
 * memory refilled as weights are used again (training makes new weight arrays every step).
 */
const RESIDENT_BYTES = 32 * 2 ** 20;

/** The weight buffers resident in one kernel memory and where each starts. */
export class ResidentWeights {
  private offsets = new WeakMap<ArrayBufferLike, number>();
  /** Bytes at the front of the memory that resident copies hold: a call's own regions start here. */
  end = 0;

  constructor(private readonly memory: WebAssembly.Memory, private readonly budget = RESIDENT_BYTES) {}

  /**
   * The byte offset in the memory of `weights[0]`, its whole buffer copied in at first sight;
   * null when the buffer would not fit the budget (the caller copies it in per call instead).
   * Called before the caller lays out its regions from `end`, which this may move.
   */
  offsetOf(weights: Float32Array): number | null {
    const buffer = weights.buffer;
    let at = this.offsets.get(buffer);
    if (at === undefined) {
      const bytes = Math.ceil(buffer.byteLength / 16) * 16;
      if (bytes > this.budget) return null;
      if (this.end + bytes > this.budget) {
        this.offsets = new WeakMap();
        this.end = 0;
      }
      at = this.end;
      ensureBytes(this.memory, at + bytes);
      new Float32Array(this.memory.buffer, at, buffer.byteLength / 4).set(new Float32Array(buffer));
      this.offsets.set(buffer, at);
      this.end = at + bytes;
    }
    return at + weights.byteOffset;
  }
}
