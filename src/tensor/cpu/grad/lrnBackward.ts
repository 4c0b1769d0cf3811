// Backward of cross-channel LRN in its Torch7 form (as pointwise.ts's lrnChannels computes it):
// y_i = x_i * d_i^-beta with d_i = k + alpha/size * sum of x_j^2 over the window of channel i,
// [i - floor(size/2), i + floor((size-1)/2)], channels past the borders counting zero.

/**
 * dx_j = dy_j * d_j^-beta - 2 * alpha * beta / size * x_j * sum over the windows i that hold j
 * of dy_i * y_i / d_i (x_i * d_i^(-beta-1) is y_i / d_i). d is recomputed from x in float64
 * (y / x would fail where x = 0). Planes of `plane` positions, `c` channels, `n` items.
 */
export function lrnBackward(
  x: Float32Array, y: Float32Array, dy: Float32Array, n: number, c: number, plane: number,
  size: number, alpha: number, beta: number, k: number, dx: Float32Array,
): void {
  const before = Math.floor(size / 2);
  const after = Math.floor((size - 1) / 2);
  const scale = alpha / size;
  const d = new Float64Array(c * plane);
  // t_i = dy_i * y_i / d_i, then summed over the channels whose window holds j.
  const t = new Float64Array(c * plane);
  for (let b = 0; b < n; b++) {
    const base = b * c * plane;
    for (let ch = 0; ch < c; ch++) {
      for (let j = 0; j < plane; j++) {
        let s = 0;
        for (let q = Math.max(0, ch - before); q <= Math.min(c - 1, ch + after); q++) s += x[base + q * plane + j] * x[base + q * plane + j];
        const at = ch * plane + j;
        d[at] = k + scale * s;
        t[at] = (dy[base + at] * y[base + at]) / d[at];
      }
    }
    for (let ch = 0; ch < c; ch++) {
      // Window i holds j when i - before <= j <= i + after, i.e. i in [j - after, j + before].
      const lo = Math.max(0, ch - after);
      const hi = Math.min(c - 1, ch + before);
      for (let j = 0; j < plane; j++) {
        let s = 0;
        for (let i = lo; i <= hi; i++) s += t[i * plane + j];
        const at = ch * plane + j;
        dx[base + at] = dy[base + at] * Math.pow(d[at], -beta) - 2 * scale * beta * x[base + at] * s;
      }
    }
  }
}
