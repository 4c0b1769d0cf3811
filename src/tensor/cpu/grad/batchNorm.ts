// Batch norm's statistics (training mode) and backward, over [n, c, plane] with float64 sums.

/** Per-channel mean and biased variance over the batch and positions: two passes (mean, then squared deviations). */
export function batchStats(x: Float32Array, n: number, c: number, plane: number, mean: Float32Array, variance: Float32Array): void {
  const count = n * plane;
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let b = 0; b < n; b++) {
      const at = (b * c + ch) * plane;
      for (let j = 0; j < plane; j++) s += x[at + j];
    }
    const m = s / count;
    let v = 0;
    for (let b = 0; b < n; b++) {
      const at = (b * c + ch) * plane;
      for (let j = 0; j < plane; j++) v += (x[at + j] - m) ** 2;
    }
    mean[ch] = m;
    variance[ch] = v / count;
  }
}

/**
 * With r = 1/sqrt(var + eps) and xhat = (x - mean) * r: dBeta = sum dy, dGamma = sum dy * xhat,
 * and dx = gamma * r * dy in eval mode; in training mode mean and variance move with x, which
 * adds their terms: dx = gamma * r / M * (M * dy - dBeta - xhat * dGamma), M = n * plane.
 */
export function batchNormBackward(
  x: Float32Array, dy: Float32Array, n: number, c: number, plane: number,
  gamma: Float32Array, mean: Float32Array, variance: Float32Array, eps: number, training: boolean,
  dx: Float32Array, dGamma: Float32Array, dBeta: Float32Array,
): void {
  const count = n * plane;
  for (let ch = 0; ch < c; ch++) {
    const m = mean[ch];
    const r = 1 / Math.sqrt(variance[ch] + eps);
    let sumDy = 0;
    let sumDyXhat = 0;
    for (let b = 0; b < n; b++) {
      const at = (b * c + ch) * plane;
      for (let j = 0; j < plane; j++) {
        sumDy += dy[at + j];
        sumDyXhat += dy[at + j] * (x[at + j] - m) * r;
      }
    }
    dBeta[ch] = sumDy;
    dGamma[ch] = sumDyXhat;
    const gr = gamma[ch] * r;
    for (let b = 0; b < n; b++) {
      const at = (b * c + ch) * plane;
      if (training) {
        for (let j = 0; j < plane; j++) {
          const xhat = (x[at + j] - m) * r;
          dx[at + j] = (gr / count) * (count * dy[at + j] - sumDy - xhat * sumDyXhat);
        }
      } else {
        for (let j = 0; j < plane; j++) dx[at + j] = gr * dy[at + j];
      }
    }
  }
}
