// Fully connected layers on the SIMD GEMM: the weights are the 4-row blocks, batch items the
// panel lanes. Item by item (the TypeScript path) a dense layer is a matrix-vector product that
// reads every weight once per item; as a GEMM each weight load serves eight items.
import { MR, NR } from './convPlan.ts';
import { isSharedMemory, newSharedMemory } from '../../platform/sharedMemory.ts';
import { gemmArena } from './simdGemm.ts';

/** Batch items per GEMM call: panel memory stays within about 192 KB for F up to 1152. */
const ITEMS = 32;

let packed = new WeakMap<Float32Array, Float32Array>();

/** Drops the packed rows (weights changed in place: see parametersChanged). */
export function forgetPackedDenseRows(): void {
  packed = new WeakMap();
}

/** The weight rows in blocks of 4, reduction index outermost in a block (rows past o zero), made once per weight array. */
export function packedDenseRows(w: Float32Array, f: number, o: number, shared = false): Float32Array {
  let p = packed.get(w);
  if (!p || (shared && !isSharedMemory(p.buffer))) {
    const length = Math.ceil(o / MR) * MR * f;
    p = shared ? new Float32Array(newSharedMemory(4 * length)) : new Float32Array(length);
    for (let r = 0; r < o; r++) {
      const dst = Math.floor(r / MR) * f * MR + (r % MR);
      for (let k = 0; k < f; k++) p[dst + k * MR] = w[r * f + k];
    }
    packed.set(w, p);
  }
  return p;
}

/** Groups of batch items a dense layer is computed in: the units threads share. */
export function denseGroups(n: number): number {
  return Math.ceil(n / ITEMS);
}

/** y[b, o] = sum_f x[b, f] * w[o, f] + bias[o], for n items of f features and o outputs. */
export function simdDense(x: Float32Array, w: Float32Array, bias: Float32Array | null, n: number, f: number, o: number, out: Float32Array, fma = false): void {
  simdDenseGroups(x, packedDenseRows(w, f, o), bias, n, f, o, out, 0, denseGroups(n), fma);
}

/**
 * One item's f features into lane l of a panel (every NR-th float from `dst`), or zeros. Its own
 * function rather than the innermost of simdDenseGroups' loops: Chromium's V8 compiled that loop
 * on its own (on-stack replacement) and threw the code away at every exit to the loop around
 * it, 46 times in the cold-start rows (TSFACE_CHROMIUM_FLAGS='--js-flags=--trace-deopt').
 */
function laneOfPanel(panels: Float32Array, dst: number, x: Float32Array | null, src: number, f: number): void {
  if (!x) {
    for (let k = 0; k < f; k++, dst += NR) panels[dst] = 0;
    return;
  }
  for (let k = 0; k < f; k++, dst += NR) panels[dst] = x[src + k];
}

/** simdDense for item groups [from, to), from weights already packed by packedDenseRows; `fma`: the relaxed-SIMD GEMM. */
export function simdDenseGroups(
  x: Float32Array, rowsPacked: Float32Array, bias: Float32Array | null, n: number, f: number, o: number, out: Float32Array, from: number, to: number,
  fma = false,
): void {
  const blocks = Math.ceil(o / MR);
  const rows = blocks * MR;
  const arena = gemmArena(rows, f, ITEMS * f, rows * ITEMS, 0, fma);
  const { weights, panels, tile } = arena;
  weights.set(rowsPacked);
  arena.bias.fill(0);
  if (bias) arena.bias.set(bias.subarray(0, o));
  for (let b0 = from * ITEMS; b0 < Math.min(n, to * ITEMS); b0 += ITEMS) {
    const items = Math.min(ITEMS, n - b0);
    const count = Math.ceil(items / NR);
    // Panel p, tap k, lane l = x[b0 + 4p + l, k]; lanes past the last item are zero.
    for (let p = 0; p < count; p++) {
      for (let l = 0; l < NR; l++) {
        const item = b0 + p * NR + l;
        laneOfPanel(panels, p * f * NR + l, item < n ? x : null, item * f, f);
      }
    }
    arena.run(0, f, blocks, count, ITEMS, false);
    for (let r = 0; r < o; r++) {
      for (let i = 0; i < items; i++) out[(b0 + i) * o + r] = tile[r * ITEMS + i];
    }
  }
}
