// Backward of the activations (ReLU, PReLU), from the forward op's output or input.

/** torch's threshold_backward: dy where y > 0, else 0 (y = 0 passes nothing). */
export function reluBackward(y: Float32Array, dy: Float32Array, dx: Float32Array): void {
  for (let i = 0; i < y.length; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
}

/**
 * PReLU over `planes` planes of `plane` values (plane p is channel p % channels): dx = dy where
 * x > 0, else alpha[c] * dy; dAlpha[c] sums x * dy where x <= 0, in float64.
 */
export function preluBackward(
  x: Float32Array, alpha: Float32Array, dy: Float32Array, planes: number, channels: number, plane: number,
  dx: Float32Array, dAlpha: Float32Array,
): void {
  const sums = new Float64Array(channels);
  let i = 0;
  for (let p = 0; p < planes; p++) {
    const c = p % channels;
    const a = alpha[c];
    let s = 0;
    for (let j = 0; j < plane; j++, i++) {
      const v = x[i];
      if (v > 0) {
        dx[i] = dy[i];
      } else {
        dx[i] = a * dy[i];
        s += v * dy[i];
      }
    }
    sums[c] += s;
  }
  for (let c = 0; c < channels; c++) dAlpha[c] = sums[c];
}
