// P-Net over a large pyramid level in square tiles, so that its activations (10 to 32 float
// channels: about 100 bytes per level pixel when the whole level runs at once) never exceed a
// tile's worth, and a 12-megapixel photo does not cost a gigabyte. The maps come out bit for bit
// as from one pass: P-Net is fully convolutional, output cell (y, x) sees input rows 2y .. 2y + 11
// and the same columns, and a tile that starts on an even input row and column keeps the pooling
// windows where the whole level has them; the last tile of a row or column is moved back to end
// on the level's edge, where the ceil-mode pooling sees the same partial windows.
//
// Every tile has the same shape (but for one row or column less at an odd edge), on every level,
// so the CPU backend's pool of released buffers serves them all from one set instead of keeping
// a set per level. A level can also be read a tile at a time from the 8-bit image (imageLevel),
// so its float32 copy (12 bytes a cell, 3.6 times the photo's RGB at the first scale) never
// exists whole.
import type { Net } from '../nets/net.ts';
import type { Backend } from '../tensor/backend.ts';
import { areaResizeWindowNormalized, type OutputWindow, type RgbPixels } from '../tensor/cpu/resample.ts';
import { Tensor } from '../tensor/tensor.ts';

/** Input pixels of one tile (about 13 MB of activations); a level that fits in one runs whole. */
export const PNET_TILE_PIXELS = 1 << 17;

/** A pyramid level that hands out windows of itself as [1, 3, rows, columns] tensors. */
export interface LevelSource {
  height: number;
  width: number;
  /** The window's values; `into`, when given, is a buffer of the right size that may be reused. */
  read(window: OutputWindow, into?: Float32Array): Tensor;
}

/** A level that exists whole as a tensor (the GPU backend's resize, tests). */
export function tensorLevel(x: Tensor): LevelSource {
  const [, , height, width] = x.shape;
  return {
    height,
    width,
    read: (win, into) => {
      const h = win.y1 - win.y0, w = win.x1 - win.x0;
      const out = new Tensor([1, 3, h, w], into);
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < h; y++) {
          const from = (c * height + win.y0 + y) * width + win.x0;
          out.data.set(x.data.subarray(from, from + w), (c * h + y) * w);
        }
      }
      return out;
    },
  };
}

/** The area resize of `img` to height x width, made a window at a time from the 8-bit pixels. */
export function imageLevel(img: RgbPixels, height: number, width: number): LevelSource {
  const region = { x: 0, y: 0, width: img.width, height: img.height };
  return {
    height,
    width,
    read: (win, into) => {
      const out = new Tensor([1, 3, win.y1 - win.y0, win.x1 - win.x0], into);
      areaResizeWindowNormalized(img, region, height, width, win, out.data);
      return out;
    },
  };
}

/** P-Net's map cells along one side of `size` input pixels (ceil-mode 2x2 pooling between 3x3 convs). */
function cellsAlong(size: number): number {
  return Math.ceil((size - 2) / 2) - 4;
}

/**
 * Input [from, to) along one side for each tile of at most `tile` cells: tiles start every
 * `tile` cells, the last one moved back to end on the edge (so it has the others' size).
 */
function tileSpans(size: number, tile: number): [number, number][] {
  const cells = cellsAlong(size);
  if (cells <= tile) return [[0, size]];
  const spans: [number, number][] = [];
  for (let first = 0; first < cells; first += tile) {
    const start = Math.min(first, cells - tile);
    spans.push([2 * start, Math.min(size, 2 * (start + tile) + 10)]);
  }
  return spans;
}

/** Copies a tile's map (N=1) into the level's map at cell (y, x). */
function place(tile: Tensor, map: Tensor, y: number, x: number): void {
  const [, c, th, tw] = tile.shape;
  const [, , mh, mw] = map.shape;
  for (let k = 0; k < c; k++) {
    for (let row = 0; row < th; row++) {
      const from = (k * th + row) * tw;
      map.data.set(tile.data.subarray(from, from + tw), (k * mh + y + row) * mw + x);
    }
  }
}

/**
 * P-Net's `prob` and `box` maps of one pyramid level (a tensor, or a LevelSource read a tile at
 * a time), whole or in tiles of at most `tilePixels` input pixels.
 */
export async function pnetMaps(pnet: Net, backend: Backend, level: Tensor | LevelSource, tilePixels = PNET_TILE_PIXELS): Promise<{ prob: Tensor; box: Tensor }> {
  const source = level instanceof Tensor ? tensorLevel(level) : level;
  const { height: h, width: w } = source;
  // A tile of T x T cells reads 2T + 10 input rows and columns.
  const tile = Math.max(4, Math.floor((Math.sqrt(tilePixels) - 10) / 2));
  const rows = tileSpans(h, tile);
  const cols = tileSpans(w, tile);
  if (rows.length === 1 && cols.length === 1) {
    const { prob, box } = await pnet.forward(backend, level instanceof Tensor ? level : source.read({ y0: 0, y1: h, x0: 0, x1: w }));
    return { prob, box };
  }
  const prob = new Tensor([1, 2, cellsAlong(h), cellsAlong(w)]);
  const box = new Tensor([1, 4, cellsAlong(h), cellsAlong(w)]);
  let spare: Float32Array | undefined;
  for (const [y0, y1] of rows) {
    for (const [x0, x1] of cols) {
      const size = 3 * (y1 - y0) * (x1 - x0);
      const input = source.read({ y0, y1, x0, x1 }, spare?.length === size ? spare : undefined);
      const out = await pnet.forward(backend, input);
      place(out.prob, prob, y0 / 2, x0 / 2);
      place(out.box, box, y0 / 2, x0 / 2);
      // The tile's maps are copied out: their buffers can serve the next tile's maps.
      backend.release?.(out.prob);
      backend.release?.(out.box);
      spare = input.data;
    }
  }
  return { prob, box };
}
