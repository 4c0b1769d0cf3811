// sumChannels (channels.ts) with four running sums per plane instead of one: the float64 adds of
// one chain wait on each other, four chains overlap. Sums in another order: within float64 rounding.

export function sumChannelsUnrolled(dy: Float32Array, n: number, c: number, plane: number, out: Float32Array): void {
  const sums = new Float64Array(c);
  const whole = plane & ~3;
  let i = 0;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++, i += plane) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let j = i;
      for (const end = i + whole; j < end; j += 4) {
        s0 += dy[j];
        s1 += dy[j + 1];
        s2 += dy[j + 2];
        s3 += dy[j + 3];
      }
      for (const end = i + plane; j < end; j++) s0 += dy[j];
      sums[ch] += (s0 + s1) + (s2 + s3);
    }
  }
  for (let ch = 0; ch < c; ch++) out[ch] = sums[ch];
}
