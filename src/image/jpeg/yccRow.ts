// One row of YCbCr samples to interleaved RGB. yccSimd.ts takes the row's first multiple of 16
// pixels where WebAssembly SIMD exists; the rest goes through libjpeg's tables (yccTables.ts)
// here, four pixels as three 32-bit words wherever the output is aligned, because byte stores of
// 3-byte pixels were the cost. Every path gives the same values; only the stores differ.
import { yccRowSimd } from './yccSimd.ts';
import { CB_B, CB_G, CR_G, CR_R, LIMIT } from './yccTables.ts';

/** Word stores put the first byte lowest only on little-endian machines; others store bytes. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A 32-bit view of `out` for yccRow, or null where words cannot be used. */
export function wordView(out: Uint8Array): Int32Array | null {
  return LITTLE_ENDIAN && out.byteOffset % 4 === 0 ? new Int32Array(out.buffer, out.byteOffset, out.byteLength >> 2) : null;
}

/** Converts `width` pixels: luma from yd[ya..], chroma from cbd[cba..] and crd[cra..], RGB to out[o..]. */
export function yccRow(
  yd: Uint8Array, ya: number, cbd: Uint8Array, cba: number, crd: Uint8Array, cra: number,
  width: number, out: Uint8Array, out32: Int32Array | null, o: number,
): void {
  // Local copies: module imports can be live bindings, slower to read in the inner loop.
  const limit = LIMIT, crR = CR_R, cbB = CB_B, crG = CR_G, cbG = CB_G;
  const end = ya + width;
  const done = yccRowSimd(yd, ya, cbd, cba, crd, cra, width, out, o);
  ya += done; cba += done; cra += done; o += 3 * done;
  // Single pixels until the output is word-aligned (at most three), then groups of four.
  while (ya < end && (out32 === null || (o & 3) !== 0)) {
    const yy = yd[ya++] + 256, b = cbd[cba++], r = crd[cra++];
    out[o] = limit[yy + crR[r]];
    out[o + 1] = limit[yy + ((cbG[b] + crG[r]) >> 16)];
    out[o + 2] = limit[yy + cbB[b]];
    o += 3;
  }
  if (out32 === null) return;
  let w = o >> 2;
  for (; ya + 4 <= end; ya += 4, cba += 4, cra += 4, w += 3) {
    let yy = yd[ya] + 256, b = cbd[cba], r = crd[cra];
    const r0 = limit[yy + crR[r]], g0 = limit[yy + ((cbG[b] + crG[r]) >> 16)], b0 = limit[yy + cbB[b]];
    yy = yd[ya + 1] + 256; b = cbd[cba + 1]; r = crd[cra + 1];
    const r1 = limit[yy + crR[r]], g1 = limit[yy + ((cbG[b] + crG[r]) >> 16)], b1 = limit[yy + cbB[b]];
    yy = yd[ya + 2] + 256; b = cbd[cba + 2]; r = crd[cra + 2];
    const r2 = limit[yy + crR[r]], g2 = limit[yy + ((cbG[b] + crG[r]) >> 16)], b2 = limit[yy + cbB[b]];
    yy = yd[ya + 3] + 256; b = cbd[cba + 3]; r = crd[cra + 3];
    const r3 = limit[yy + crR[r]], g3 = limit[yy + ((cbG[b] + crG[r]) >> 16)], b3 = limit[yy + cbB[b]];
    out32[w] = r0 | (g0 << 8) | (b0 << 16) | (r1 << 24);
    out32[w + 1] = g1 | (b1 << 8) | (r2 << 16) | (g2 << 24);
    out32[w + 2] = b2 | (r3 << 8) | (g3 << 16) | (b3 << 24);
  }
  o = w << 2;
  for (; ya < end; o += 3) {
    const yy = yd[ya++] + 256, b = cbd[cba++], r = crd[cra++];
    out[o] = limit[yy + crR[r]];
    out[o + 1] = limit[yy + ((cbG[b] + crG[r]) >> 16)];
    out[o + 2] = limit[yy + cbB[b]];
  }
}
