// P-Net on parts of a pyramid level: the tiles of one level that cover every cell whose box
// (12 level pixels, as the cascade maps a cell back to the image) reaches into any of the given
// image windows. A tile that starts on an even cell and reads P-Net's reach past its last cell
// gives its cells bit for bit as the whole level does (see pnetBands.ts), so the candidates a
// window yields are the full detection's candidates there: a followed frame finds the boxes a
// full detection would, where a crop of the frame, resampled on its own grid, would not.
import type { Region } from '../tensor/geometry.ts';
import { pnetCells, type PnetTile } from './pnetBands.ts';

interface CellRect {
  y0: number;
  y1: number;
  x0: number;
  x1: number;
}

/** Cells [lo, hi) along one side whose box [(2c + 1) / s, (2c + 12) / s] overlaps image pixels [from, to). */
function cellSpan(from: number, to: number, scale: number, cells: number): [number, number] {
  const lo = Math.max(0, Math.floor((from * scale - 12) / 2));
  const hi = Math.min(cells, Math.ceil((to * scale - 1) / 2) + 1);
  // Even first cell: P-Net's 3x3 convs after its pooling may run in 2x2 Winograd blocks, which
  // must fall where the whole level's do.
  return [lo - (lo & 1), hi];
}

/** An image window to run P-Net in, optionally only at levels whose cell boxes (12 / scale pixels) are `sides` [min, max] pixels. */
export interface PnetWindow extends Region {
  sides?: readonly [number, number];
}

const overlaps = (a: CellRect, b: CellRect) => a.y0 < b.y1 && b.y0 < a.y1 && a.x0 < b.x1 && b.x0 < a.x1;

/**
 * The tiles of a level of height x width at `scale` for these image windows: one per window,
 * windows whose cells overlap merged into their bounding rectangle (so no cell is given twice).
 */
export function windowTiles(scale: number, height: number, width: number, windows: readonly PnetWindow[]): PnetTile[] {
  const mh = pnetCells(height);
  const mw = pnetCells(width);
  if (mh <= 0 || mw <= 0) return [];
  let rects: CellRect[] = [];
  const side = 12 / scale;
  for (const w of windows) {
    if (w.sides && !(side >= w.sides[0] && side <= w.sides[1])) continue;
    const [y0, y1] = cellSpan(w.y, w.y + w.height, scale, mh);
    const [x0, x1] = cellSpan(w.x, w.x + w.width, scale, mw);
    if (y1 > y0 && x1 > x0) rects.push({ y0, y1, x0, x1 });
  }
  for (let merged = true; merged; ) {
    merged = false;
    const out: CellRect[] = [];
    for (const r of rects) {
      const k = out.findIndex((o) => overlaps(o, r));
      if (k < 0) {
        out.push(r);
        continue;
      }
      const o = out[k];
      out[k] = { y0: Math.min(o.y0, r.y0), y1: Math.max(o.y1, r.y1), x0: Math.min(o.x0, r.x0), x1: Math.max(o.x1, r.x1) };
      merged = true;
    }
    rects = out;
  }
  return rects.map((r) => ({
    window: { y0: 2 * r.y0, y1: Math.min(height, 2 * r.y1 + 10), x0: 2 * r.x0, x1: Math.min(width, 2 * r.x1 + 10) },
    cells: { y: r.y0, x: r.x0, y0: r.y0, y1: r.y1, x0: r.x0, x1: r.x1 },
  }));
}
