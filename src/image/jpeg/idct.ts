// Inverse DCT of one 8x8 block, the "accurate integer" method libjpeg-turbo uses by default
// (JDCT_ISLOW): 13-bit fixed-point constants, a column pass keeping 2 extra bits, a row pass.
// The grouping of the multiplications is the one libjpeg uses, because regrouping would round
// the constants differently and change pixels.
// libjpeg-turbo's builds agree only while the numbers stay in range: its SIMD code (x86, Arm)
// keeps dequantised coefficients and the column pass in 16 bits (wrapping or saturating), its C
// code does not, and they limit samples differently beyond -512..511. Valid 8-bit data stays far
// inside; a block that leaves that range is corrupt, and idctBlock reports it instead of picking
// one build's answer.

import { ImageError } from '../../errors.ts';

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

export function outOfRange(componentId: number): ImageError {
  return new ImageError(`corrupt JPEG: coefficients of component ${componentId} go beyond what 8-bit image data can hold`);
}

/** Row-pass results -512..511, offset by 512, to samples (0..255 after the +128 bias). */
const LIMIT = new Uint8Array(1024);
for (let i = 0; i < 1024; i++) LIMIT[i] = Math.max(0, Math.min(255, i - 512 + 128));

/**
 * Writes the 8x8 samples of `coefficients[at..at+64)` (natural order, not yet dequantised) into
 * `out` at `outAt`, rows `stride` apart. Returns false when the block leaves the range in which
 * every libjpeg-turbo build gives the same samples (see above).
 */
export function idctBlock(coefficients: Int16Array, at: number, quant: Int32Array, out: Uint8Array, outAt: number, stride: number): boolean {
  const ws = workspace;
  // High bits of (value + offset) flag a value outside a signed range: 16 bits for +32768.
  let outside = 0;
  // Columns: dequantise, transform, keep PASS1 = 2 fractional bits.
  for (let col = 0; col < 8; col++) {
    const c = at + col;
    const i1 = coefficients[c + 8], i2 = coefficients[c + 16], i3 = coefficients[c + 24], i4 = coefficients[c + 32];
    const i5 = coefficients[c + 40], i6 = coefficients[c + 48], i7 = coefficients[c + 56];
    if ((i1 | i2 | i3 | i4 | i5 | i6 | i7) === 0) {
      const dcq = coefficients[c] * quant[col];
      // The SIMD shortcut for such columns shifts 16-bit values left by 2.
      if (dcq < -8192 || dcq > 8191) outside = -1;
      const dc = dcq * 4;
      ws[col] = dc; ws[col + 8] = dc; ws[col + 16] = dc; ws[col + 24] = dc;
      ws[col + 32] = dc; ws[col + 40] = dc; ws[col + 48] = dc; ws[col + 56] = dc;
      continue;
    }
    let tmp0: number, tmp1: number, tmp2: number, tmp3: number;
    const d0 = coefficients[c] * quant[col], d4 = i4 * quant[col + 32];
    let z2 = i2 * quant[col + 16];
    let z3 = i6 * quant[col + 48];
    tmp0 = i7 * quant[col + 56];
    tmp1 = i5 * quant[col + 40];
    tmp2 = i3 * quant[col + 24];
    tmp3 = i1 * quant[col + 8];
    outside |= (d0 + 32768) | (d4 + 32768) | (z2 + 32768) | (z3 + 32768) | (tmp0 + 32768) | (tmp1 + 32768) | (tmp2 + 32768) | (tmp3 + 32768);
    const o7 = tmp0, o5 = tmp1, o3 = tmp2, o1 = tmp3;
    let z1 = (z2 + z3) * F0_541;
    tmp2 = z1 - z3 * F1_847;
    tmp3 = z1 + z2 * F0_765;
    z2 = d0;
    z3 = d4;
    tmp0 = (z2 + z3) * 8192;
    tmp1 = (z2 - z3) * 8192;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;

    tmp0 = o7; tmp1 = o5; tmp2 = o3; tmp3 = o1;
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

    // With every input inside 16 bits these sums stay below 2^31 (the largest multiplier sum
    // of an output is 61213), so the shifts are exact; inputs outside are flagged above anyway.
    const w0 = (tmp10 + tmp3 + 1024) >> 11, w7 = (tmp10 - tmp3 + 1024) >> 11;
    const w1 = (tmp11 + tmp2 + 1024) >> 11, w6 = (tmp11 - tmp2 + 1024) >> 11;
    const w2 = (tmp12 + tmp1 + 1024) >> 11, w5 = (tmp12 - tmp1 + 1024) >> 11;
    const w3 = (tmp13 + tmp0 + 1024) >> 11, w4 = (tmp13 - tmp0 + 1024) >> 11;
    outside |= (w0 + 32768) | (w1 + 32768) | (w2 + 32768) | (w3 + 32768) | (w4 + 32768) | (w5 + 32768) | (w6 + 32768) | (w7 + 32768);
    ws[col] = w0; ws[col + 8] = w1; ws[col + 16] = w2; ws[col + 24] = w3;
    ws[col + 32] = w4; ws[col + 40] = w5; ws[col + 48] = w6; ws[col + 56] = w7;
  }
  if (outside >>> 16 !== 0) return false;
  // Column values now fit 16 bits, so (as above) no row sum reaches 2^31.
  let beyond = 0;
  // Rows: transform and remove the 2 + 3 extra bits (the 3 are the 1/8 of the 2-D IDCT), add 128.
  for (let row = 0; row < 64; row += 8) {
    const o = outAt + (row >> 3) * stride;
    const w1 = ws[row + 1], w2 = ws[row + 2], w3 = ws[row + 3], w4 = ws[row + 4];
    const w5 = ws[row + 5], w6 = ws[row + 6], w7 = ws[row + 7];
    if ((w1 | w2 | w3 | w4 | w5 | w6 | w7) === 0) {
      const x = ((ws[row] + 16) >> 5) + 512;
      beyond |= x;
      const v = LIMIT[x & 1023];
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

    const R = (1 << 17) + (512 << 18);
    const x0 = (tmp10 + tmp3 + R) >> 18, x7 = (tmp10 - tmp3 + R) >> 18;
    const x1 = (tmp11 + tmp2 + R) >> 18, x6 = (tmp11 - tmp2 + R) >> 18;
    const x2 = (tmp12 + tmp1 + R) >> 18, x5 = (tmp12 - tmp1 + R) >> 18;
    const x3 = (tmp13 + tmp0 + R) >> 18, x4 = (tmp13 - tmp0 + R) >> 18;
    beyond |= x0 | x1 | x2 | x3 | x4 | x5 | x6 | x7;
    out[o] = LIMIT[x0 & 1023]; out[o + 1] = LIMIT[x1 & 1023]; out[o + 2] = LIMIT[x2 & 1023]; out[o + 3] = LIMIT[x3 & 1023];
    out[o + 4] = LIMIT[x4 & 1023]; out[o + 5] = LIMIT[x5 & 1023]; out[o + 6] = LIMIT[x6 & 1023]; out[o + 7] = LIMIT[x7 & 1023];
  }
  // Row results offset by 512 must lie in 0..1023.
  return beyond >>> 10 === 0;
}

/**
 * A block with only its DC coefficient (dequantised: dc): every sample is the same, and this is
 * the value the full transform above gives for it, range checks included.
 */
export function flatBlock(dc: number, out: Uint8Array, outAt: number, stride: number): boolean {
  if (dc < -8192 || dc > 8191) return false;
  const x = ((dc * 4 + 16) >> 5) + 512;
  if (x >>> 10 !== 0) return false;
  const v = LIMIT[x];
  for (let row = 0, o = outAt; row < 8; row++, o += stride) {
    out[o] = v; out[o + 1] = v; out[o + 2] = v; out[o + 3] = v;
    out[o + 4] = v; out[o + 5] = v; out[o + 6] = v; out[o + 7] = v;
  }
  return true;
}
