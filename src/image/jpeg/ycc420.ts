// The usual camera layout, YCbCr 4:2:0: each output row's chroma goes through the 2x2 triangle
// filter (upsample.ts explains it) into a row buffer and on to yccRow. Same arithmetic as
// rowSource + colorRows, so the same pixels, with fewer passes over memory. Plane rows are found
// modulo each component's planeRows (a plane may hold only two rows of MCUs).
import type { ColorSpace } from './color.ts';
import type { Frame } from './frame.ts';
import { wordView, yccRow } from './yccRow.ts';

export function isYcc420(frame: Frame, space: ColorSpace): boolean {
  if (space !== 'ycbcr') return false;
  const [y, cb, cr] = frame.components;
  const half = (c: typeof y) => frame.hMax === 2 * c.h && frame.vMax === 2 * c.v && c.width > 2;
  return y.h === frame.hMax && y.v === frame.vMax && half(cb) && half(cr);
}

/**
 * One output row's worth of a chroma component: the vertical filter of rows `near` and `far`,
 * then the horizontal one, the edge sums repeated at both ends. The column sums roll through
 * three locals instead of a sums array.
 */
function upsampleRow(plane: Uint8Array, near: number, far: number, w: number, up: Uint8Array): void {
  let prev = plane[near] * 3 + plane[far];
  let cur = prev;
  let o = 0;
  for (let i = 1; i < w; i++, o += 2) {
    const next = plane[near + i] * 3 + plane[far + i];
    const three = cur * 3;
    // Left output of the pair leans on the previous sum, right output on the next.
    up[o] = (three + prev + 8) >> 4;
    up[o + 1] = (three + next + 7) >> 4;
    prev = cur;
    cur = next;
  }
  const three = cur * 3;
  up[o] = (three + prev + 8) >> 4;
  up[o + 1] = (three + cur + 7) >> 4;
}

/** Writes image rows [y0, y1) of `out` from the three planes. */
export function ycc420Rows(frame: Frame, out: Uint8Array): (y0: number, y1: number) => void {
  const [Y, Cb, Cr] = frame.components;
  const { width } = frame;
  const yPlane = Y.plane!, cbPlane = Cb.plane!, crPlane = Cr.plane!;
  const yStride = Y.paddedBlocksWide * 8;
  const cbStride = Cb.paddedBlocksWide * 8;
  const crStride = Cr.paddedBlocksWide * 8;
  const cbRow = new Uint8Array(Cb.width * 2);
  const crRow = new Uint8Array(Cr.width * 2);
  const out32 = wordView(out);
  const yRows = Y.planeRows, cbRows = Cb.planeRows, crRows = Cr.planeRows;
  return (y0, y1) => {
    for (let y = y0; y < y1; y++) {
      const r = y >> 1;
      const far = (y & 1) ? Math.min(r + 1, Cb.height - 1) : Math.max(r - 1, 0);
      upsampleRow(cbPlane, (r % cbRows) * cbStride, (far % cbRows) * cbStride, Cb.width, cbRow);
      upsampleRow(crPlane, (r % crRows) * crStride, (far % crRows) * crStride, Cr.width, crRow);
      yccRow(yPlane, (y % yRows) * yStride, cbRow, 0, crRow, 0, width, out, out32, y * width * 3);
    }
  };
}
