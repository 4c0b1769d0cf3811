// Fully connected backward in TypeScript with float64 sums: x [n, f], w [o, f], dy [n, o].

/** dx[b, f] = sum_o dy[b, o] * w[o, f]. */
export function denseInputGrad(dy: Float32Array, w: Float32Array, n: number, f: number, o: number, dx: Float32Array): void {
  const acc = new Float64Array(f);
  for (let b = 0; b < n; b++) {
    acc.fill(0);
    for (let r = 0; r < o; r++) {
      const d = dy[b * o + r];
      const wr = r * f;
      for (let i = 0; i < f; i++) acc[i] += d * w[wr + i];
    }
    for (let i = 0; i < f; i++) dx[b * f + i] = acc[i];
  }
}

/** dW[o, f] = sum_b dy[b, o] * x[b, f]. */
export function denseWeightGrad(x: Float32Array, dy: Float32Array, n: number, f: number, o: number, dw: Float32Array): void {
  const acc = new Float64Array(f);
  for (let r = 0; r < o; r++) {
    acc.fill(0);
    for (let b = 0; b < n; b++) {
      const d = dy[b * o + r];
      const xb = b * f;
      for (let i = 0; i < f; i++) acc[i] += d * x[xb + i];
    }
    for (let i = 0; i < f; i++) dw[r * f + i] = acc[i];
  }
}
