// Batch norm's statistics and backward (batchNorm.ts) with four running sums per pass instead of
// one chain of dependent float64 adds, and the per-position work of dx reduced to a multiply-add
// form with per-channel constants: dx = a * dy - b - c * (x - mean), the reference's
// gamma * r / M * (M * dy - dBeta - xhat * dGamma) multiplied out. Within float64 rounding of it.

/** Sums over channel `ch` of [n, c, plane]: f(x) for each value, four chains. */
function channelSum(x: Float32Array, n: number, c: number, plane: number, ch: number, shift: number, square: boolean): number {
  const whole = plane & ~3;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (let b = 0; b < n; b++) {
    const at = (b * c + ch) * plane;
    let j = at;
    if (square) {
      for (const end = at + whole; j < end; j += 4) {
        const v0 = x[j] - shift, v1 = x[j + 1] - shift, v2 = x[j + 2] - shift, v3 = x[j + 3] - shift;
        s0 += v0 * v0;
        s1 += v1 * v1;
        s2 += v2 * v2;
        s3 += v3 * v3;
      }
      for (const end = at + plane; j < end; j++) s0 += (x[j] - shift) ** 2;
    } else {
      for (const end = at + whole; j < end; j += 4) {
        s0 += x[j];
        s1 += x[j + 1];
        s2 += x[j + 2];
        s3 += x[j + 3];
      }
      for (const end = at + plane; j < end; j++) s0 += x[j];
    }
  }
  return (s0 + s1) + (s2 + s3);
}

export function batchStatsUnrolled(x: Float32Array, n: number, c: number, plane: number, mean: Float32Array, variance: Float32Array): void {
  const count = n * plane;
  for (let ch = 0; ch < c; ch++) {
    const m = channelSum(x, n, c, plane, ch, 0, false) / count;
    mean[ch] = m;
    variance[ch] = channelSum(x, n, c, plane, ch, m, true) / count;
  }
}

export function batchNormBackwardUnrolled(
  x: Float32Array, dy: Float32Array, n: number, c: number, plane: number,
  gamma: Float32Array, mean: Float32Array, variance: Float32Array, eps: number, training: boolean,
  dx: Float32Array, dGamma: Float32Array, dBeta: Float32Array,
): void {
  const count = n * plane;
  const whole = plane & ~3;
  for (let ch = 0; ch < c; ch++) {
    const m = mean[ch];
    const r = 1 / Math.sqrt(variance[ch] + eps);
    // sum dy and sum dy * (x - mean), four chains each.
    let d0 = 0, d1 = 0, d2 = 0, d3 = 0, p0 = 0, p1 = 0, p2 = 0, p3 = 0;
    for (let b = 0; b < n; b++) {
      const at = (b * c + ch) * plane;
      let j = at;
      for (const end = at + whole; j < end; j += 4) {
        const g0 = dy[j], g1 = dy[j + 1], g2 = dy[j + 2], g3 = dy[j + 3];
        d0 += g0;
        d1 += g1;
        d2 += g2;
        d3 += g3;
        p0 += g0 * (x[j] - m);
        p1 += g1 * (x[j + 1] - m);
        p2 += g2 * (x[j + 2] - m);
        p3 += g3 * (x[j + 3] - m);
      }
      for (const end = at + plane; j < end; j++) {
        d0 += dy[j];
        p0 += dy[j] * (x[j] - m);
      }
    }
    const sumDy = (d0 + d1) + (d2 + d3);
    const sumDyXhat = ((p0 + p1) + (p2 + p3)) * r;
    dBeta[ch] = sumDy;
    dGamma[ch] = sumDyXhat;
    const gr = gamma[ch] * r;
    const shift = training ? (gr * sumDy) / count : 0;
    const slope = training ? (gr * r * sumDyXhat) / count : 0;
    for (let b = 0; b < n; b++) {
      const at = (b * c + ch) * plane;
      for (let j = at; j < at + plane; j++) dx[j] = gr * dy[j] - shift - slope * (x[j] - m);
    }
  }
}
