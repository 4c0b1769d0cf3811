// The usual camera layout, YCbCr 4:2:0, in one pass: both chroma rows go through the 2x2
// triangle filter (upsample.ts explains it) and straight into the colour conversion, without
// writing full-width chroma rows first. Same arithmetic as rowSource + convertRows, so the
// same pixels; only the memory traffic differs.
import { CB_B, CB_G, CR_G, CR_R, LIMIT, type ColorSpace } from './color.ts';
import type { Frame } from './frame.ts';

export function isYcc420(frame: Frame, space: ColorSpace): boolean {
  if (space !== 'ycbcr') return false;
  const [y, cb, cr] = frame.components;
  const half = (c: typeof y) => frame.hMax === 2 * c.h && frame.vMax === 2 * c.v && c.width > 2;
  return y.h === frame.hMax && y.v === frame.vMax && half(cb) && half(cr);
}

/** Vertical filter of one chroma row pair into sums[1..w], edge sums copied to both ends. */
function columnSums(plane: Uint8Array, near: number, far: number, w: number, sums: Int32Array): void {
  for (let i = 0; i < w; i++) sums[i + 1] = plane[near + i] * 3 + plane[far + i];
  sums[0] = sums[1];
  sums[w + 1] = sums[w];
}

export function convertYcc420(frame: Frame, out: Uint8Array): void {
  const [Y, Cb, Cr] = frame.components;
  const { width, height } = frame;
  const yPlane = Y.plane!, cbPlane = Cb.plane!, crPlane = Cr.plane!;
  const yStride = Y.paddedBlocksWide * 8;
  const cbStride = Cb.paddedBlocksWide * 8;
  const crStride = Cr.paddedBlocksWide * 8;
  // Local copies: module imports can be live bindings, slower to read in the inner loop.
  const limit = LIMIT, crR = CR_R, cbB = CB_B, crG = CR_G, cbG = CB_G;
  const cbSums = new Int32Array(Cb.width + 2);
  const crSums = new Int32Array(Cr.width + 2);
  for (let y = 0, o = 0; y < height; y++) {
    const r = y >> 1;
    const far = (y & 1) ? Math.min(r + 1, Cb.height - 1) : Math.max(r - 1, 0);
    columnSums(cbPlane, r * cbStride, far * cbStride, Cb.width, cbSums);
    columnSums(crPlane, r * crStride, far * crStride, Cr.width, crSums);
    const yRow = y * yStride;
    for (let i = 1, x = 0; x < width; i++) {
      const cb3 = cbSums[i] * 3;
      const cr3 = crSums[i] * 3;
      // Left output of the pair leans on the previous sum, right output on the next.
      let cb = (cb3 + cbSums[i - 1] + 8) >> 4;
      let cr = (cr3 + crSums[i - 1] + 8) >> 4;
      let yy = yPlane[yRow + x] + 256;
      out[o] = limit[yy + crR[cr]];
      out[o + 1] = limit[yy + ((cbG[cb] + crG[cr]) >> 16)];
      out[o + 2] = limit[yy + cbB[cb]];
      x++; o += 3;
      if (x >= width) break;
      cb = (cb3 + cbSums[i + 1] + 7) >> 4;
      cr = (cr3 + crSums[i + 1] + 7) >> 4;
      yy = yPlane[yRow + x] + 256;
      out[o] = limit[yy + crR[cr]];
      out[o + 1] = limit[yy + ((cbG[cb] + crG[cr]) >> 16)];
      out[o + 2] = limit[yy + cbB[cb]];
      x++; o += 3;
    }
  }
}
