// LRN backward as lrnBackward.ts computes it, reorganised for speed: the channel-window sums are
// built a whole plane at a time (row adds along contiguous memory instead of a strided walk per
// position, with the window's bounds worked out once per channel, not once per position), one
// division per position (r = 1/d, then products), and beta 0.75 (FaceNet's) takes d^-0.75 as
// sqrt(r * sqrt(r)) instead of Math.pow. Sums keep the reference's order (channels ascending,
// float64), so results differ from it by float64 rounding only.

/** Scratch planes reused between calls (float64, one item's channels). */
let scratch = new Float64Array(0);

export function lrnBackwardRows(
  x: Float32Array, y: Float32Array, dy: Float32Array, n: number, c: number, plane: number,
  size: number, alpha: number, beta: number, k: number, dx: Float32Array,
): void {
  const before = Math.floor(size / 2);
  const after = Math.floor((size - 1) / 2);
  const scale = alpha / size;
  const factor = 2 * scale * beta;
  const item = c * plane;
  if (scratch.length < 3 * item) scratch = new Float64Array(3 * item);
  // sq: x^2; then t = dy * y / d; first: dy * d^-beta.
  const sq = scratch.subarray(0, item);
  const t = scratch.subarray(item, 2 * item);
  const first = scratch.subarray(2 * item, 3 * item);
  const threeQuarters = beta === 0.75;
  for (let b = 0; b < n; b++) {
    const base = b * item;
    for (let i = 0; i < item; i++) {
      const v = x[base + i];
      sq[i] = v * v;
    }
    for (let ch = 0; ch < c; ch++) {
      const lo = Math.max(0, ch - before);
      const hi = Math.min(c - 1, ch + after);
      const at = ch * plane;
      // The window's sum, rows added in channel order, into t's row (t is written after).
      const row = lo * plane;
      for (let j = 0; j < plane; j++) t[at + j] = sq[row + j];
      for (let q = lo + 1; q <= hi; q++) {
        const from = q * plane;
        for (let j = 0; j < plane; j++) t[at + j] += sq[from + j];
      }
      for (let j = 0; j < plane; j++) {
        const d = k + scale * t[at + j];
        const r = 1 / d;
        const g = dy[base + at + j];
        first[at + j] = g * (threeQuarters ? Math.sqrt(r * Math.sqrt(r)) : Math.pow(d, -beta));
        t[at + j] = g * y[base + at + j] * r;
      }
    }
    for (let ch = 0; ch < c; ch++) {
      // Window i holds channel ch when i is in [ch - after, ch + before]; sq's row ch is free by now.
      const lo = Math.max(0, ch - after);
      const hi = Math.min(c - 1, ch + before);
      const at = ch * plane;
      const row = lo * plane;
      for (let j = 0; j < plane; j++) sq[at + j] = t[row + j];
      for (let i = lo + 1; i <= hi; i++) {
        const from = i * plane;
        for (let j = 0; j < plane; j++) sq[at + j] += t[from + j];
      }
      for (let j = 0; j < plane; j++) dx[base + at + j] = first[at + j] - factor * x[base + at + j] * sq[at + j];
    }
  }
}
