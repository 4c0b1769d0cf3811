// Depthwise conv backward (one input and one output channel per group: MobileFaceNet's blocks)
// as direct loops, tap by tap along output rows so the inner loop has no bounds checks.
import type { ConvGeometry } from '../../geometry.ts';
import { simdDepthwiseWeightFits, simdDepthwiseWeightGrad } from './simdDepthwiseWeight.ts';

/** The output columns [lo, hi) whose tap kx lands inside the input row. */
function columns(p: ConvGeometry, kx: number): [number, number] {
  const lo = Math.max(0, Math.ceil((p.padLeft - kx) / p.strideW));
  const hi = Math.min(p.outW, Math.floor((p.inW - 1 + p.padLeft - kx) / p.strideW) + 1);
  return [lo, hi];
}

/** dx of planes [from, to) (batch item * channels + channel): each tap scatters w * dy back over the input. */
export function depthwiseInputGradTasks(p: ConvGeometry, dy: Float32Array, w: Float32Array, dx: Float32Array, from: number, to: number): void {
  const { cIn, inH, inW, kH, kW, strideH, strideW, padTop, padLeft, outH, outW } = p;
  const plane = inH * inW;
  const hw = outH * outW;
  for (let t = from; t < to; t++) {
    const c = t % cIn;
    const dxBase = t * plane;
    const dyBase = t * hw;
    dx.fill(0, dxBase, dxBase + plane);
    for (let ky = 0; ky < kH; ky++) {
      const wRow = (c * kH + ky) * kW;
      // Three taps of a row per dy load where all three land inside (MobileFaceNet's 3x3s).
      const [lo3, hi3] = kW === 3 ? [columns(p, 0)[0], columns(p, 2)[1]] : [0, 0];
      const w0 = w[wRow], w1 = w[wRow + 1], w2 = w[wRow + 2];
      for (let oy = 0; oy < outH; oy++) {
        const iy = oy * strideH - padTop + ky;
        if (iy < 0 || iy >= inH) continue;
        const dst = dxBase + iy * inW - padLeft;
        const src = dyBase + oy * outW;
        for (let kx = 0; kx < kW; kx++) {
          const wv = w[wRow + kx];
          const [lo, hi] = columns(p, kx);
          const skipTo = lo3 < hi3 ? Math.max(lo, Math.min(hi, lo3)) : hi;
          for (let ox = lo; ox < skipTo; ox++) dx[dst + ox * strideW + kx] += wv * dy[src + ox];
          for (let ox = Math.max(skipTo, hi3); ox < hi; ox++) dx[dst + ox * strideW + kx] += wv * dy[src + ox];
        }
        for (let ox = lo3; ox < hi3; ox++) {
          const d = dy[src + ox];
          const at = dst + ox * strideW;
          dx[at] += w0 * d;
          dx[at + 1] += w1 * d;
          dx[at + 2] += w2 * d;
        }
      }
    }
  }
}

/** dW of channels [from, to): each tap's sum over the batch and outputs of dy times the input it read, in float64. */
export function depthwiseWeightGradTasks(p: ConvGeometry, x: Float32Array, dy: Float32Array, dw: Float32Array, from: number, to: number): void {
  if (simdDepthwiseWeightFits(p)) {
    simdDepthwiseWeightGrad(p, x, dy, dw, from, to);
    return;
  }
  const { n, cIn, inH, inW, kH, kW, strideH, strideW, padTop, padLeft, outH, outW } = p;
  const plane = inH * inW;
  const hw = outH * outW;
  const sums = new Float64Array(kH * kW);
  const [lo3, hi3] = kW === 3 ? [columns(p, 0)[0], columns(p, 2)[1]] : [0, 0];
  for (let c = from; c < to; c++) {
    sums.fill(0);
    for (let b = 0; b < n; b++) {
      const xBase = (b * cIn + c) * plane;
      const dyBase = (b * cIn + c) * hw;
      for (let ky = 0; ky < kH; ky++) {
        for (let oy = 0; oy < outH; oy++) {
          const iy = oy * strideH - padTop + ky;
          if (iy < 0 || iy >= inH) continue;
          const xRow = xBase + iy * inW - padLeft;
          const dyRow = dyBase + oy * outW;
          for (let kx = 0; kx < kW; kx++) {
            const [lo, hi] = columns(p, kx);
            // Columns the three-tap loop below covers are skipped here.
            const skipTo = lo3 < hi3 ? Math.max(lo, Math.min(hi, lo3)) : hi;
            let s = 0;
            for (let ox = lo; ox < skipTo; ox++) s += dy[dyRow + ox] * x[xRow + ox * strideW + kx];
            for (let ox = Math.max(skipTo, hi3); ox < hi; ox++) s += dy[dyRow + ox] * x[xRow + ox * strideW + kx];
            sums[ky * kW + kx] += s;
          }
          // Three taps of a row per dy load where all three land inside (MobileFaceNet's 3x3s).
          let s0 = 0, s1 = 0, s2 = 0;
          for (let ox = lo3; ox < hi3; ox++) {
            const d = dy[dyRow + ox];
            const at = xRow + ox * strideW;
            s0 += d * x[at];
            s1 += d * x[at + 1];
            s2 += d * x[at + 2];
          }
          if (lo3 < hi3) {
            sums[ky * 3] += s0;
            sums[ky * 3 + 1] += s1;
            sums[ky * 3 + 2] += s2;
          }
        }
      }
    }
    for (let i = 0; i < kH * kW; i++) dw[c * kH * kW + i] = sums[i];
  }
}
