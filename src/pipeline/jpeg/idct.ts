// Inverse DCT of one 8x8 block, the "accurate integer" method libjpeg-turbo uses by default
// (JDCT_ISLOW): 13-bit fixed-point constants, a column pass keeping 2 extra bits, a row pass.
// The grouping of the multiplications is the one libjpeg uses, because regrouping would round
// the constants differently and change pixels. Results are clamped to 0..255, which is what
// libjpeg-turbo's SIMD code (used on x86 and Arm) does with out-of-range values.

const F0_298 = 2446;
const F0_390 = 3196;
const F0_541 = 4433;
const F0_765 = 6270;
const F0_899 = 7373;
const F1_175 = 9633;
const F1_501 = 12299;
const F1_847 = 15137;
const F1_961 = 16069;
const F2_053 = 16819;
const F2_562 = 20995;
const F3_072 = 25172;

const workspace = new Int32Array(64);

/** Maps a row-pass result biased by +128 (any int) to a sample. */
function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Writes the 8x8 samples of `coefficients[at..at+64)` (natural order, not yet dequantised) into
 * `out` at `outAt`, rows `stride` apart.
 */
export function idctBlock(coefficients: Int16Array, at: number, quant: Int32Array, out: Uint8Array, outAt: number, stride: number): void {
  const ws = workspace;
  // Columns: dequantise, transform, keep PASS1 = 2 fractional bits.
  for (let col = 0; col < 8; col++) {
    const c = at + col;
    const i1 = coefficients[c + 8], i2 = coefficients[c + 16], i3 = coefficients[c + 24], i4 = coefficients[c + 32];
    const i5 = coefficients[c + 40], i6 = coefficients[c + 48], i7 = coefficients[c + 56];
    if ((i1 | i2 | i3 | i4 | i5 | i6 | i7) === 0) {
      const dc = (coefficients[c] * quant[col]) << 2;
      ws[col] = dc; ws[col + 8] = dc; ws[col + 16] = dc; ws[col + 24] = dc;
      ws[col + 32] = dc; ws[col + 40] = dc; ws[col + 48] = dc; ws[col + 56] = dc;
      continue;
    }
    let z2 = i2 * quant[col + 16];
    let z3 = i6 * quant[col + 48];
    let z1 = (z2 + z3) * F0_541;
    let tmp2 = z1 - z3 * F1_847;
    let tmp3 = z1 + z2 * F0_765;
    z2 = coefficients[c] * quant[col];
    z3 = i4 * quant[col + 32];
    let tmp0 = (z2 + z3) << 13;
    let tmp1 = (z2 - z3) << 13;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;

    tmp0 = i7 * quant[col + 56];
    tmp1 = i5 * quant[col + 40];
    tmp2 = i3 * quant[col + 24];
    tmp3 = i1 * quant[col + 8];
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * F1_175;
    tmp0 *= F0_298;
    tmp1 *= F2_053;
    tmp2 *= F3_072;
    tmp3 *= F1_501;
    z1 *= -F0_899;
    z2 *= -F2_562;
    z3 = z3 * -F1_961 + z5;
    z4 = z4 * -F0_390 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;

    ws[col] = (tmp10 + tmp3 + 1024) >> 11;
    ws[col + 56] = (tmp10 - tmp3 + 1024) >> 11;
    ws[col + 8] = (tmp11 + tmp2 + 1024) >> 11;
    ws[col + 48] = (tmp11 - tmp2 + 1024) >> 11;
    ws[col + 16] = (tmp12 + tmp1 + 1024) >> 11;
    ws[col + 40] = (tmp12 - tmp1 + 1024) >> 11;
    ws[col + 24] = (tmp13 + tmp0 + 1024) >> 11;
    ws[col + 32] = (tmp13 - tmp0 + 1024) >> 11;
  }
  // Rows: transform and remove the 2 + 3 extra bits (the 3 are the 1/8 of the 2-D IDCT), add 128.
  for (let row = 0; row < 64; row += 8) {
    const o = outAt + (row >> 3) * stride;
    const w1 = ws[row + 1], w2 = ws[row + 2], w3 = ws[row + 3], w4 = ws[row + 4];
    const w5 = ws[row + 5], w6 = ws[row + 6], w7 = ws[row + 7];
    if ((w1 | w2 | w3 | w4 | w5 | w6 | w7) === 0) {
      const v = clamp(((ws[row] + 16) >> 5) + 128);
      out[o] = v; out[o + 1] = v; out[o + 2] = v; out[o + 3] = v;
      out[o + 4] = v; out[o + 5] = v; out[o + 6] = v; out[o + 7] = v;
      continue;
    }
    let z1 = (w2 + w6) * F0_541;
    let tmp2 = z1 - w6 * F1_847;
    let tmp3 = z1 + w2 * F0_765;
    let tmp0 = (ws[row] + w4) << 13;
    let tmp1 = (ws[row] - w4) << 13;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;

    tmp0 = w7; tmp1 = w5; tmp2 = w3; tmp3 = w1;
    z1 = tmp0 + tmp3;
    let z2 = tmp1 + tmp2;
    let z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * F1_175;
    tmp0 *= F0_298;
    tmp1 *= F2_053;
    tmp2 *= F3_072;
    tmp3 *= F1_501;
    z1 *= -F0_899;
    z2 *= -F2_562;
    z3 = z3 * -F1_961 + z5;
    z4 = z4 * -F0_390 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;

    const R = 1 << 17;
    out[o] = clamp(((tmp10 + tmp3 + R) >> 18) + 128);
    out[o + 7] = clamp(((tmp10 - tmp3 + R) >> 18) + 128);
    out[o + 1] = clamp(((tmp11 + tmp2 + R) >> 18) + 128);
    out[o + 6] = clamp(((tmp11 - tmp2 + R) >> 18) + 128);
    out[o + 2] = clamp(((tmp12 + tmp1 + R) >> 18) + 128);
    out[o + 5] = clamp(((tmp12 - tmp1 + R) >> 18) + 128);
    out[o + 3] = clamp(((tmp13 + tmp0 + R) >> 18) + 128);
    out[o + 4] = clamp(((tmp13 - tmp0 + R) >> 18) + 128);
  }
}
