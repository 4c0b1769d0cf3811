// Depthwise conv backward (one input and one output channel per group: MobileFaceNet's blocks)
// as direct loops, tap by tap along output rows so the inner loop has no bounds checks.
import type { ConvGrad } from './convGeometry.ts';

/** The output columns [lo, hi) whose tap kx lands inside the input row. */
function columns(p: ConvGrad, kx: number): [number, number] {
  const lo = Math.max(0, Math.ceil((p.padLeft - kx) / p.strideW));
  const hi = Math.min(p.outW, Math.floor((p.inW - 1 + p.padLeft - kx) / p.strideW) + 1);
  return [lo, hi];
}

/** dx of planes [from, to) (batch item * channels + channel): each tap scatters w * dy back over the input. */
export function depthwiseInputGradTasks(p: ConvGrad, dy: Float32Array, w: Float32Array, dx: Float32Array, from: number, to: number): void {
  const { cIn, inH, inW, kH, kW, strideH, strideW, padTop, padLeft, outH, outW } = p;
  const plane = inH * inW;
  const hw = outH * outW;
  for (let t = from; t < to; t++) {
    const c = t % cIn;
    const dxBase = t * plane;
    const dyBase = t * hw;
    dx.fill(0, dxBase, dxBase + plane);
    for (let ky = 0; ky < kH; ky++) {
      for (let kx = 0; kx < kW; kx++) {
        const wv = w[(c * kH + ky) * kW + kx];
        const [lo, hi] = columns(p, kx);
        for (let oy = 0; oy < outH; oy++) {
          const iy = oy * strideH - padTop + ky;
          if (iy < 0 || iy >= inH) continue;
          const dst = dxBase + iy * inW - padLeft + kx;
          const src = dyBase + oy * outW;
          for (let ox = lo; ox < hi; ox++) dx[dst + ox * strideW] += wv * dy[src + ox];
        }
      }
    }
  }
}

/** dW of channels [from, to): each tap's sum over the batch and outputs of dy times the input it read, in float64. */
export function depthwiseWeightGradTasks(p: ConvGrad, x: Float32Array, dy: Float32Array, dw: Float32Array, from: number, to: number): void {
  const { n, cIn, inH, inW, kH, kW, strideH, strideW, padTop, padLeft, outH, outW } = p;
  const plane = inH * inW;
  const hw = outH * outW;
  for (let c = from; c < to; c++) {
    for (let ky = 0; ky < kH; ky++) {
      for (let kx = 0; kx < kW; kx++) {
        const [lo, hi] = columns(p, kx);
        let s = 0;
        for (let b = 0; b < n; b++) {
          const xBase = (b * cIn + c) * plane;
          const dyBase = (b * cIn + c) * hw;
          for (let oy = 0; oy < outH; oy++) {
            const iy = oy * strideH - padTop + ky;
            if (iy < 0 || iy >= inH) continue;
            const xRow = xBase + iy * inW - padLeft + kx;
            const dyRow = dyBase + oy * outW;
            for (let ox = lo; ox < hi; ox++) s += dy[dyRow + ox] * x[xRow + ox * strideW];
          }
        }
        dw[(c * kH + ky) * kW + kx] = s;
      }
    }
  }
}
