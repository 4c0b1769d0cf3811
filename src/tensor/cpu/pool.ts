import type { Window2d } from '../geometry.ts';

export type PoolKind = 'max' | 'avg' | 'l2';

/**
 * Max, average and L2 pooling over the windows described by `g`. Padded cells never win a max
 * (they are skipped, as -inf in PyTorch and Caffe) and count as 0 in sums. For average pooling
 * the divisor follows PyTorch: with countIncludePad the window clipped to input + padding,
 * otherwise only the cells inside the input.
 */
export function pool2d(kind: PoolKind, g: Window2d, x: Float32Array, out: Float32Array, countIncludePad: boolean): void {
  const { inH, inW, kH, kW, strideH, strideW, padTop, padLeft, outH, outW } = g;
  const planes = g.n * g.c;
  const plane = inH * inW;
  const limitH = inH + g.padBottom;
  const limitW = inW + g.padRight;
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * plane;
    for (let oy = 0; oy < outH; oy++) {
      const wy0 = oy * strideH - padTop;
      const y0 = Math.max(wy0, 0);
      const y1 = Math.min(wy0 + kH, inH);
      for (let ox = 0; ox < outW; ox++) {
        const wx0 = ox * strideW - padLeft;
        const x0 = Math.max(wx0, 0);
        const x1 = Math.min(wx0 + kW, inW);
        if (kind === 'max') {
          // Branch-free max: (m + v + |m - v|) / 2. Comparisons of activations are close to
          // random, and a mispredicted branch per element cost more than the arithmetic. In
          // float64 the result is within a few float64 ulps of the larger float32 input, so the
          // float32 store gives exactly the max; NaN propagates. An infinity makes the formula
          // NaN (inf - inf), so a NaN from two non-NaN cells is settled by comparing them.
          let m = x[base + y0 * inW + x0];
          for (let y = y0; y < y1; y++) {
            const row = base + y * inW;
            for (let xx = x0; xx < x1; xx++) {
              const v = x[row + xx];
              const r = (m + v + Math.abs(m - v)) * 0.5;
              m = r === r || m !== m || v !== v ? r : v > m ? v : m;
            }
          }
          out[o++] = m;
        } else {
          // Sums in float64, row by row, left to right. Three cells a row (every window of
          // nn4.small2's L2 and average pools) are read as three locals: the inner loop's
          // overhead took about as long as the arithmetic.
          let s = 0;
          if (x1 - x0 === 3) {
            for (let y = y0; y < y1; y++) {
              const at = base + y * inW + x0;
              const a = x[at];
              const b = x[at + 1];
              const c = x[at + 2];
              if (kind === 'avg') s = s + a + b + c;
              else s = s + a * a + b * b + c * c;
            }
          } else {
            for (let y = y0; y < y1; y++) {
              const row = base + y * inW;
              if (kind === 'avg') for (let xx = x0; xx < x1; xx++) s += x[row + xx];
              else for (let xx = x0; xx < x1; xx++) s += x[row + xx] * x[row + xx];
            }
          }
          if (kind === 'l2') {
            out[o++] = Math.sqrt(s);
          } else {
            const count = countIncludePad
              ? (Math.min(wy0 + kH, limitH) - wy0) * (Math.min(wx0 + kW, limitW) - wx0)
              : (y1 - y0) * (x1 - x0);
            out[o++] = s / count;
          }
        }
      }
    }
  }
}
