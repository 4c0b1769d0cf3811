// Conv backward in plain TypeScript with float64 sums: the reference the fast paths are checked
// against (CpuBackendOptions.simd false runs it), written as the definition reads.
import type { ConvGeometry } from '../../geometry.ts';

/**
 * dx[b, ci, iy, ix] = sum over the outputs whose window holds (iy, ix) of dy * w: each output
 * scatters dy times its taps back over its window, into a float64 plane per input channel.
 * Items [from, to) of the batch.
 */
export function conv2dInputGradReference(p: ConvGeometry, dy: Float32Array, w: Float32Array, dx: Float32Array, from = 0, to = p.n): void {
  const { cIn, inH, inW, cOut, kH, kW, strideH, strideW, padTop, padLeft, outH, outW, groups } = p;
  const cInG = cIn / groups;
  const mG = cOut / groups;
  const plane = inH * inW;
  const hw = outH * outW;
  const acc = new Float64Array(plane);
  for (let b = from; b < to; b++) {
    for (let ci = 0; ci < cIn; ci++) {
      const g = Math.floor(ci / cInG);
      acc.fill(0);
      for (let m = 0; m < mG; m++) {
        const co = g * mG + m;
        const wBase = (co * cInG + (ci - g * cInG)) * kH * kW;
        const dyBase = (b * cOut + co) * hw;
        for (let oy = 0; oy < outH; oy++) {
          for (let ox = 0; ox < outW; ox++) {
            const d = dy[dyBase + oy * outW + ox];
            for (let ky = 0; ky < kH; ky++) {
              const iy = oy * strideH - padTop + ky;
              if (iy < 0 || iy >= inH) continue;
              for (let kx = 0; kx < kW; kx++) {
                const ix = ox * strideW - padLeft + kx;
                if (ix >= 0 && ix < inW) acc[iy * inW + ix] += d * w[wBase + ky * kW + kx];
              }
            }
          }
        }
      }
      const out = (b * cIn + ci) * plane;
      for (let i = 0; i < plane; i++) dx[out + i] = acc[i];
    }
  }
}

/**
 * dW[co, ci, ky, kx] = sum over the batch and output pixels of dy[b, co, oy, ox] times the input
 * that tap read (0 in the padding). Output channels [from, to).
 */
export function conv2dWeightGradReference(p: ConvGeometry, x: Float32Array, dy: Float32Array, dw: Float32Array, from = 0, to = p.cOut): void {
  const { n, cIn, inH, inW, cOut, kH, kW, strideH, strideW, padTop, padLeft, outH, outW, groups } = p;
  const cInG = cIn / groups;
  const mG = cOut / groups;
  const plane = inH * inW;
  const hw = outH * outW;
  for (let co = from; co < to; co++) {
    const g = Math.floor(co / mG);
    for (let c = 0; c < cInG; c++) {
      const ci = g * cInG + c;
      for (let ky = 0; ky < kH; ky++) {
        for (let kx = 0; kx < kW; kx++) {
          let s = 0;
          for (let b = 0; b < n; b++) {
            const xBase = (b * cIn + ci) * plane;
            const dyBase = (b * cOut + co) * hw;
            for (let oy = 0; oy < outH; oy++) {
              const iy = oy * strideH - padTop + ky;
              if (iy < 0 || iy >= inH) continue;
              for (let ox = 0; ox < outW; ox++) {
                const ix = ox * strideW - padLeft + kx;
                if (ix >= 0 && ix < inW) s += dy[dyBase + oy * outW + ox] * x[xBase + iy * inW + ix];
              }
            }
          }
          dw[((co * cInG + c) * kH + ky) * kW + kx] = s;
        }
      }
    }
  }
}
