// Conv backward on the WebAssembly SIMD GEMM of simdGemm.ts (dense and grouped convs; depthwise
// ones run depthwise.ts). Both products read their right-hand side straight from the kernel's
// memory as row-major planes (the GEMM's direct mode, as a forward 1x1 conv reads its input):
//   dx: dcol[tap, pixel] = W^T[tap, co] . dy[co, pixel], then col2im adds each tap's row back
//       onto the input positions it read (for a 1x1 stride-1 conv dcol is dx itself);
//   dW: dW[co, tap] = dy[co, pixel] . im2row[pixel, tap], over chunks of pixels that may run
//       across batch items, the chunks' tiles summed in float64.
import { MR, NR } from '../conv2d.ts';
import { gemmArena } from '../simdGemm.ts';
import type { ConvGeometry } from '../../geometry.ts';

/** Bytes of the right-hand side a GEMM call streams per 4-row block: about half a typical L2. */
const PANEL_BYTES = 256 * 1024;

function chunkPixels(width: number): number {
  const pixels = Math.floor(PANEL_BYTES / 4 / width / (2 * NR)) * 2 * NR;
  return Math.max(2 * NR, Math.min(pixels, 2048));
}

function taps(p: ConvGeometry): number {
  return (p.cIn / p.groups) * p.kH * p.kW;
}

/** Units of work of conv2dInputGradTasks: one (batch item, group) each. */
export function inputGradTaskCount(p: ConvGeometry): number {
  return p.n * p.groups;
}

/** dx for tasks [from, to) of (batch item, group): every value of their planes is written. */
export function conv2dInputGradTasks(p: ConvGeometry, dy: Float32Array, w: Float32Array, dx: Float32Array, from: number, to: number, fma = false): void {
  const { cIn, inH, inW, cOut, kH, kW, strideH, strideW, padTop, padLeft, outW, groups } = p;
  const K = taps(p);
  const cInG = cIn / groups;
  const mG = cOut / groups;
  const hw = p.outH * outW;
  const plane = inH * inW;
  const blocks = Math.ceil(K / MR);
  const P = Math.min(chunkPixels(mG), Math.ceil(hw / NR) * NR);
  const arena = gemmArena(blocks * MR, mG, 0, blocks * MR * P, mG * hw, fma);
  const { weights, tile, input } = arena;
  arena.bias.fill(0);
  // A 1x1 stride-1 conv without padding: tap c of pixel j is input c at j, so dcol is dx.
  const pointwise = kH === 1 && kW === 1 && strideH === 1 && strideW === 1 && padTop === 0 && padLeft === 0 && hw === plane;
  let packedGroup = -1;
  for (let t = from; t < to; t++) {
    const b = Math.floor(t / groups);
    const g = t - b * groups;
    if (g !== packedGroup) {
      // W^T of the group in 4-tap blocks: weights[blk][m][r] = W[g mG + m][tap 4 blk + r].
      weights.fill(0);
      for (let m = 0; m < mG; m++) {
        const src = (g * mG + m) * K;
        for (let tap = 0; tap < K; tap++) weights[Math.floor(tap / MR) * mG * MR + m * MR + (tap % MR)] = w[src + tap];
      }
      packedGroup = g;
    }
    input.set(dy.subarray((b * cOut + g * mG) * hw, (b * cOut + (g + 1) * mG) * hw));
    const dxBase = (b * cIn + g * cInG) * plane;
    if (!pointwise) dx.fill(0, dxBase, dxBase + cInG * plane);
    for (let j0 = 0; j0 < hw; j0 += P) {
      const cols = Math.min(P, hw - j0);
      arena.runDirect(0, mG, blocks, Math.ceil(cols / NR), P, false, j0, hw);
      if (pointwise) {
        for (let c = 0; c < cInG; c++) dx.set(tile.subarray(c * P, c * P + cols), dxBase + c * plane + j0);
      } else {
        col2im(p, tile, P, j0, cols, dx, dxBase);
      }
    }
  }
}

/** Adds tile row `tap` (pixels [j0, j0 + cols) of the output) onto the input positions each tap read. */
function col2im(p: ConvGeometry, tile: Float32Array, ldc: number, j0: number, cols: number, dx: Float32Array, dxBase: number): void {
  const { inH, inW, kH, kW, strideH, strideW, padTop, padLeft, outW } = p;
  const cInG = p.cIn / p.groups;
  const plane = inH * inW;
  const oy0 = Math.floor(j0 / outW);
  const oy1 = Math.floor((j0 + cols - 1) / outW);
  let row = 0;
  for (let c = 0; c < cInG; c++) {
    const cBase = dxBase + c * plane;
    for (let ky = 0; ky < kH; ky++) {
      for (let kx = 0; kx < kW; kx++, row++) {
        const rowBase = row * ldc - j0;
        // Output columns whose tap kx lands inside the input: 0 <= ox * s - padLeft + kx < inW.
        const oxLo = Math.max(0, Math.ceil((padLeft - kx) / strideW));
        const oxHi = Math.min(outW, Math.floor((inW - 1 + padLeft - kx) / strideW) + 1);
        for (let oy = oy0; oy <= oy1; oy++) {
          const iy = oy * strideH - padTop + ky;
          if (iy < 0 || iy >= inH) continue;
          const lo = Math.max(oxLo, oy === oy0 ? j0 - oy * outW : 0);
          const hi = Math.min(oxHi, oy === oy1 ? j0 + cols - oy * outW : outW);
          const src = rowBase + oy * outW;
          const dst = cBase + iy * inW - padLeft + kx;
          for (let ox = lo; ox < hi; ox++) dx[dst + ox * strideW] += tile[src + ox];
        }
      }
    }
  }
}

/** How conv2dWeightGradTasks cuts the n * outH * outW pixels: `tasks` runs of `pixels` (the last shorter). */
export function weightGradTasks(p: ConvGeometry, parts: number): { tasks: number; pixels: number } {
  const total = p.n * p.outH * p.outW;
  const tasks = Math.max(1, Math.min(parts, Math.ceil(total / 64)));
  return { tasks, pixels: Math.ceil(total / tasks) };
}

/** Floats of one task's partial dW: every group's mG x (taps padded to 4) tile. */
export function weightGradPartialLength(p: ConvGeometry): number {
  return p.cOut * Math.ceil(taps(p) / NR) * NR;
}

/**
 * Tasks [from, to) of dW: task t sums pixels [t * pixels, (t + 1) * pixels) of all n items into
 * partials[t] (weightGradPartialLength floats, [co][tap padded to 4]); sumWeightGradPartials adds
 * the tasks up.
 */
export function conv2dWeightGradTasks(
  p: ConvGeometry, x: Float32Array, dy: Float32Array, partials: Float32Array, pixelsPerTask: number, from: number, to: number, fma = false,
): void {
  const { cOut, groups } = p;
  const K = taps(p);
  const Kp = Math.ceil(K / NR) * NR;
  const mG = cOut / groups;
  const hw = p.outH * p.outW;
  const total = p.n * hw;
  const blocks = Math.ceil(mG / MR);
  const P = chunkPixels(Kp);
  const arena = gemmArena(blocks * MR, P, 0, blocks * MR * Kp, P * Kp, fma);
  const { weights, tile, input } = arena;
  arena.bias.fill(0);
  const acc = new Float64Array(mG * Kp);
  const partialLength = cOut * Kp;
  for (let t = from; t < to; t++) {
    const q0 = t * pixelsPerTask;
    const q1 = Math.min(total, q0 + pixelsPerTask);
    for (let g = 0; g < groups; g++) {
      acc.fill(0);
      for (let c0 = q0; c0 < q1; c0 += P) {
        const cols = Math.min(P, q1 - c0);
        packDyRows(p, dy, g, c0, cols, weights);
        im2row(p, x, g, c0, cols, Kp, input);
        arena.runDirect(0, cols, blocks, Kp / NR, Kp, false, 0, Kp);
        for (let i = 0; i < mG * Kp; i++) acc[i] += tile[i];
      }
      const out = t * partialLength + g * mG * Kp;
      for (let i = 0; i < mG * Kp; i++) partials[out + i] = acc[i];
    }
  }
}

/** dW[co, tap] = the sum of the tasks' partials, in float64. */
export function sumWeightGradPartials(p: ConvGeometry, partials: Float32Array, tasks: number, dw: Float32Array): void {
  const K = taps(p);
  const Kp = Math.ceil(K / NR) * NR;
  const length = p.cOut * Kp;
  for (let co = 0; co < p.cOut; co++) {
    for (let tap = 0; tap < K; tap++) {
      let s = 0;
      for (let t = 0; t < tasks; t++) s += partials[t * length + co * Kp + tap];
      dw[co * K + tap] = s;
    }
  }
}

/** dy's rows of group g over pixels [q0, q0 + cols) (q over all items), in 4-row blocks: weights[blk][q][r]. */
function packDyRows(p: ConvGeometry, dy: Float32Array, g: number, q0: number, cols: number, weights: Float32Array): void {
  const mG = p.cOut / p.groups;
  const hw = p.outH * p.outW;
  const blocks = Math.ceil(mG / MR);
  if (mG % MR) weights.fill(0, 0, blocks * cols * MR);
  for (let q = q0; q < q0 + cols; ) {
    const b = Math.floor(q / hw);
    const j = q - b * hw;
    const run = Math.min(q0 + cols - q, hw - j);
    for (let m = 0; m < mG; m++) {
      const src = (b * p.cOut + g * mG + m) * hw + j;
      let dst = Math.floor(m / MR) * cols * MR + (q - q0) * MR + (m % MR);
      for (let i = 0; i < run; i++, dst += MR) weights[dst] = dy[src + i];
    }
    q += run;
  }
}

/**
 * The taps of group g's input read by pixels [q0, q0 + cols): input[q][tap], rows Kp floats
 * apart, zeros in the padding. Tap by tap along output rows, so reads run along input rows and
 * the writes stay in the chunk (L2-resident) even where a pixel's taps span many planes.
 */
function im2row(p: ConvGeometry, x: Float32Array, g: number, q0: number, cols: number, Kp: number, input: Float32Array): void {
  const { cIn, inH, inW, kH, kW, strideH, strideW, padTop, padLeft, outW } = p;
  const cInG = cIn / p.groups;
  const hw = p.outH * outW;
  const plane = inH * inW;
  const K = cInG * kH * kW;
  if (Kp > K) for (let q = 0; q < cols; q++) input.fill(0, q * Kp + K, (q + 1) * Kp);
  for (let q = q0; q < q0 + cols; ) {
    // One output row of one item at a time: pixels q .. q + run - 1 are columns ox0 .. of row oy.
    const b = Math.floor(q / hw);
    const j = q - b * hw;
    const oy = Math.floor(j / outW);
    const ox0 = j - oy * outW;
    const run = Math.min(q0 + cols - q, outW - ox0);
    const xBase = (b * cIn + g * cInG) * plane;
    const row0 = (q - q0) * Kp - ox0 * Kp;
    let tap = 0;
    for (let c = 0; c < cInG; c++) {
      for (let ky = 0; ky < kH; ky++) {
        const iy = oy * strideH - padTop + ky;
        const rowOk = iy >= 0 && iy < inH;
        const src = xBase + c * plane + iy * inW - padLeft;
        for (let kx = 0; kx < kW; kx++, tap++) {
          // Columns whose tap lands inside the input row; the others read padding.
          const lo = rowOk ? Math.max(ox0, Math.ceil((padLeft - kx) / strideW)) : ox0 + run;
          const hi = rowOk ? Math.min(ox0 + run, Math.floor((inW - 1 + padLeft - kx) / strideW) + 1) : ox0 + run;
          let dst = row0 + tap + ox0 * Kp;
          let ox = ox0;
          for (; ox < Math.min(lo, ox0 + run); ox++, dst += Kp) input[dst] = 0;
          for (; ox < hi; ox++, dst += Kp) input[dst] = x[src + ox * strideW + kx];
          for (; ox < ox0 + run; ox++, dst += Kp) input[dst] = 0;
        }
      }
    }
    q += run;
  }
}
