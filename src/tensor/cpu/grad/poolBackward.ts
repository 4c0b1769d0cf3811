// Backward of max, average and L2 pooling over the windows of `g` (as the forward pool2d reads
// them): each output's gradient goes back to the cells of its window, windows that overlap add.
import type { Window2d } from '../../geometry.ts';

/**
 * Each output's dy goes to its window's maximum: the first in row-major order among equals, as
 * torch's max_pool2d_with_indices, which starts at the window's first cell with -infinity and
 * moves on a strictly greater value (or a NaN). Padded cells are outside the scan.
 * Planes [from, to) of dx (each plane is written whole: zeros, then the routed gradients).
 */
export function maxPool2dBackward(g: Window2d, x: Float32Array, dy: Float32Array, dx: Float32Array, from = 0, to = g.n * g.c): void {
  const { inH, inW, kH, kW, strideH, strideW, padTop, padLeft, outH, outW } = g;
  const plane = inH * inW;
  for (let pl = from; pl < to; pl++) {
    const base = pl * plane;
    dx.fill(0, base, base + plane);
    let o = pl * outH * outW;
    for (let oy = 0; oy < outH; oy++) {
      const wy0 = oy * strideH - padTop;
      const y0 = Math.max(wy0, 0);
      const y1 = Math.min(wy0 + kH, inH);
      for (let ox = 0; ox < outW; ox++, o++) {
        const wx0 = ox * strideW - padLeft;
        const x0 = Math.max(wx0, 0);
        const x1 = Math.min(wx0 + kW, inW);
        let best = base + y0 * inW + x0;
        let m = -Infinity;
        for (let y = y0; y < y1; y++) {
          for (let xx = x0; xx < x1; xx++) {
            const at = base + y * inW + xx;
            const v = x[at];
            if (v > m || v !== v) {
              m = v;
              best = at;
            }
          }
        }
        dx[best] += dy[o];
      }
    }
  }
}

/**
 * Average pooling: each output's dy / divisor to every input cell of its window, with the
 * forward op's divisor (countIncludePad: the window clipped to input + padding; otherwise the
 * cells inside the input). Sums in float64 per plane.
 */
export function avgPool2dBackward(g: Window2d, dy: Float32Array, countIncludePad: boolean, dx: Float32Array): void {
  const { inH, inW, kH, kW, strideH, strideW, padTop, padLeft, outH, outW } = g;
  const plane = inH * inW;
  const limitH = inH + g.padBottom;
  const limitW = inW + g.padRight;
  const acc = new Float64Array(plane);
  let o = 0;
  for (let pl = 0; pl < g.n * g.c; pl++) {
    acc.fill(0);
    for (let oy = 0; oy < outH; oy++) {
      const wy0 = oy * strideH - padTop;
      const y0 = Math.max(wy0, 0);
      const y1 = Math.min(wy0 + kH, inH);
      for (let ox = 0; ox < outW; ox++, o++) {
        const wx0 = ox * strideW - padLeft;
        const x0 = Math.max(wx0, 0);
        const x1 = Math.min(wx0 + kW, inW);
        const count = countIncludePad
          ? (Math.min(wy0 + kH, limitH) - wy0) * (Math.min(wx0 + kW, limitW) - wx0)
          : (y1 - y0) * (x1 - x0);
        const share = dy[o] / count;
        for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) acc[y * inW + xx] += share;
      }
    }
    for (let i = 0; i < plane; i++) dx[pl * plane + i] = acc[i];
  }
}

/** L2 pooling y = sqrt(sum x^2): dx = sum over the windows holding x of dy * x / y, nothing from a window with y = 0. */
export function l2Pool2dBackward(g: Window2d, x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array): void {
  const { inH, inW, kH, kW, strideH, strideW, padTop, padLeft, outH, outW } = g;
  const plane = inH * inW;
  const acc = new Float64Array(plane);
  let o = 0;
  for (let pl = 0; pl < g.n * g.c; pl++) {
    const base = pl * plane;
    acc.fill(0);
    for (let oy = 0; oy < outH; oy++) {
      const wy0 = oy * strideH - padTop;
      const y0 = Math.max(wy0, 0);
      const y1 = Math.min(wy0 + kH, inH);
      for (let ox = 0; ox < outW; ox++, o++) {
        if (y[o] === 0) continue;
        const wx0 = ox * strideW - padLeft;
        const x0 = Math.max(wx0, 0);
        const x1 = Math.min(wx0 + kW, inW);
        const ratio = dy[o] / y[o];
        for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) acc[yy * inW + xx] += ratio * x[base + yy * inW + xx];
      }
    }
    for (let i = 0; i < plane; i++) dx[base + i] = acc[i];
  }
}
