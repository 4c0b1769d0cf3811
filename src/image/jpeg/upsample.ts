// Brings each component to full resolution one output row at a time, choosing the method
// libjpeg-turbo's default ("fancy") upsampling chooses for the component's ratio:
//   2:1 horizontal      triangle filter (3/4, 1/4) along the row, when the component is > 2 wide
//   2:1 vertical        triangle filter between rows
//   2:1 both            triangle filter both ways (9/16, 3/16, 3/16, 1/16), when > 2 wide
//   other whole ratios  sample replication (also the fallback for 2:1 at width <= 2)
// Rows and columns outside the component are copies of its edge ones, as libjpeg's context
// rows are. The rounding biases alternate so the filter does not drift one way. Plane rows are
// found modulo the component's planeRows, so a plane that holds two rows of MCUs serves too.
import type { Component, Frame } from './frame.ts';

export interface RowSource {
  /** Holds the row that `row` locates. */
  data: Uint8Array;
  /** Fills the full-resolution samples of image row y and returns their offset in `data`. */
  row(y: number): number;
}

export function rowSource(c: Component, frame: Frame): RowSource {
  const plane = c.plane!;
  const stride = c.paddedBlocksWide * 8;
  const rx = frame.hMax / c.h;
  const ry = frame.vMax / c.v;
  const w = c.width;
  const lastRow = c.height - 1;
  const rows = c.planeRows;
  if (rx === 1 && ry === 1) return { data: plane, row: (y) => (y % rows) * stride };
  const out = new Uint8Array(w * rx + 2);

  if (rx === 2 && ry === 1 && w > 2) {
    return {
      data: out,
      row(y) {
        const at = (y % rows) * stride;
        const last = at + w - 1;
        for (let i = at, o = 0; i <= last; i++, o += 2) {
          const three = plane[i] * 3;
          out[o] = (three + plane[i > at ? i - 1 : i] + 1) >> 2;
          out[o + 1] = (three + plane[i < last ? i + 1 : i] + 2) >> 2;
        }
        return 0;
      },
    };
  }

  if (rx === 1 && ry === 2) {
    return {
      data: out,
      row(y) {
        const r = y >> 1;
        const lower = y & 1;
        const near = (r % rows) * stride;
        const far = ((lower ? Math.min(r + 1, lastRow) : Math.max(r - 1, 0)) % rows) * stride;
        const bias = lower ? 2 : 1;
        for (let i = 0; i < w; i++) out[i] = (plane[near + i] * 3 + plane[far + i] + bias) >> 2;
        return 0;
      },
    };
  }

  if (rx === 2 && ry === 2 && w > 2) {
    // Column sums of the two rows, with a copy of the edge sum at each end.
    const sums = new Int32Array(w + 2);
    return {
      data: out,
      row(y) {
        const r = y >> 1;
        const near = (r % rows) * stride;
        const far = (((y & 1) ? Math.min(r + 1, lastRow) : Math.max(r - 1, 0)) % rows) * stride;
        for (let i = 0; i < w; i++) sums[i + 1] = plane[near + i] * 3 + plane[far + i];
        sums[0] = sums[1];
        sums[w + 1] = sums[w];
        for (let i = 1, o = 0; i <= w; i++, o += 2) {
          const three = sums[i] * 3;
          out[o] = (three + sums[i - 1] + 8) >> 4;
          out[o + 1] = (three + sums[i + 1] + 7) >> 4;
        }
        return 0;
      },
    };
  }

  return {
    data: out,
    row(y) {
      const at = (Math.floor(y / ry) % rows) * stride;
      for (let i = 0, x = 0; i < w; i++) {
        const v = plane[at + i];
        for (let k = 0; k < rx; k++) out[x++] = v;
      }
      return 0;
    },
  };
}
