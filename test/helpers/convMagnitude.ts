import type { Tensor } from '../../src/tensor/tensor.ts';

/**
 * Per output of a stride-1 conv with `pad` zero padding: the sum over the window of |w x| plus
 * |bias|, in float64. Float32 rounding errors of a conv scale with this sum, not with the
 * output (which may cancel to near zero), so bounds on a faster path's error are fractions of it.
 */
export function convMagnitude(x: Tensor, w: Tensor, bias: Tensor | null, pad: number, outH: number, outW: number): Float64Array {
  const [n, cIn, inH, inW] = x.shape;
  const [cOut, , kH, kW] = w.shape;
  const out = new Float64Array(n * cOut * outH * outW);
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let m = 0; m < cOut; m++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          let s = bias ? Math.abs(bias.data[m]) : 0;
          for (let c = 0; c < cIn; c++) {
            for (let ky = 0; ky < kH; ky++) {
              const iy = oy + ky - pad;
              if (iy < 0 || iy >= inH) continue;
              for (let kx = 0; kx < kW; kx++) {
                const ix = ox + kx - pad;
                if (ix < 0 || ix >= inW) continue;
                s += Math.abs(w.data[((m * cIn + c) * kH + ky) * kW + kx] * x.data[((b * cIn + c) * inH + iy) * inW + ix]);
              }
            }
          }
          out[o++] = s;
        }
      }
    }
  }
  return out;
}
