// P-Net over a large pyramid level in square tiles, so that its activations (10 to 32 float
// channels: about 100 bytes per level pixel when the whole level runs at once) never exceed a
// tile's worth, and a 12-megapixel photo does not cost a gigabyte. The maps come out bit for bit
// as from one pass: P-Net is fully convolutional, output cell (y, x) sees input rows 2y .. 2y + 11
// and the same columns, and a tile that starts on an even input row and column keeps the pooling
// windows where the whole level has them; the last tile of a row or column ends on the level's
// edge, where the ceil-mode pooling sees the same partial windows. Tiles start on
// an even map cell, so the Winograd blocks of the later convs line up with the whole level's.
//
// On the CPU the last tile of a row or column ends where the level does, so tiles overlap by
// P-Net's reach alone (tiles moved back to keep one size had computed the largest level of a
// 1200x630 photo almost three times over); on gpu.js every tile has one shape (but for a row or
// column more or less on some levels), since a plan is compiled per shape. A level can also be read a tile at a time from the 8-bit image (imageLevel),
// so its float32 copy (12 bytes a cell, 3.6 times the photo's RGB at the first scale) never
// exists whole.
import type { Net } from '../nets/net.ts';
import type { Backend } from '../tensor/backend.ts';
import { areaResizeWindowNormalized, type OutputWindow, type RgbPixels } from '../tensor/cpu/resample.ts';
import { Tensor } from '../tensor/tensor.ts';

/** Input pixels of one tile (about 13 MB of activations); a level that fits in one runs whole. */
export const PNET_TILE_PIXELS = 1 << 17;
/**
 * The CPU's tile: half as large, since with two threads each runs whole tiles and grows its own
 * kernels' WebAssembly memory to a tile's size (12 MP photo: 29 B/px peak at 2^17, 22 at 2^16;
 * the extra overlap of smaller tiles did not show in multiface.jpg's time).
 */
export const CPU_TILE_PIXELS = 1 << 16;

/** The tile size for a backend when none is given: the smaller one where tiles are read on the host, as the CPU's are. */
function defaultTilePixels(backend: Backend): number {
  return backend.capabilities.hostTensors ? CPU_TILE_PIXELS : PNET_TILE_PIXELS;
}

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
export function pnetCells(size: number): number {
  return Math.ceil((size - 2) / 2) - 4;
}

/** One tile along one side: input [from, to), and the map cells [own, end) it is the first to give. */
interface TileSpan {
  from: number;
  to: number;
  own: number;
  end: number;
}

/**
 * The tiles along one side of `size` input pixels, of at most `tile` cells each, starting every
 * `tile` cells. With `moveBack`, the last tile is moved back to end on the edge, which keeps one
 * tile shape for every level (gpu.js compiles a plan per shape) but can compute most of a level
 * twice; without it (the CPU), the last tile is as short as the cells left, so neighbours
 * overlap by P-Net's reach alone.
 */
function tileSpans(size: number, tile: number, evenStarts: boolean, moveBack: boolean): TileSpan[] {
  const cells = pnetCells(size);
  if (cells <= tile) return [{ from: 0, to: size, own: 0, end: Math.max(0, cells) }];
  // Tiles start on an even cell: the 3x3 convs after the pooling run as Winograd F(2x2, 3x3),
  // whose 2x2 output blocks must fall where the whole level's do for the same rounding. A tile
  // moved back spans `span` cells, one more than `tile` (even) when it would otherwise start on
  // an odd cell; one span for all keeps one shape of buffers.
  const span = moveBack ? (evenStarts ? tile + ((cells - tile) & 1) : tile) : tile;
  const spans: TileSpan[] = [];
  for (let first = 0; first < cells; first += tile) {
    const start = moveBack ? Math.min(first, cells - span) : first;
    const stop = Math.min(cells, start + span);
    const end = stop === cells ? cells : first + tile;
    spans.push({ from: 2 * start, to: Math.min(size, 2 * stop + 10), own: first, end });
    if (end === cells) break;
  }
  return spans;
}

/** Cells of one tile's maps: the tile's first map cell (y, x), and the cells [y0, y1) x [x0, x1) no earlier tile gave. */
export interface TileCells {
  y: number;
  x: number;
  y0: number;
  y1: number;
  x0: number;
  x1: number;
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

/** Whether the backend runs 3x3 convs as Winograd blocks (so tiles must start on even cells). */
function runsWinograd(backend: Backend): boolean {
  return backend.capabilities.winogradBlocks;
}

/** The tile side in map cells for `tilePixels` input pixels: a tile of T x T cells reads 2T + 10 rows and columns. */
function tileCells(tilePixels: number): number {
  return 2 * Math.max(2, Math.floor((Math.sqrt(tilePixels) - 10) / 4));
}

/** One tile of a level: the input window it reads, and the map cells it gives. */
export interface PnetTile {
  window: OutputWindow;
  cells: TileCells;
}

/** The tiles of a level of height x width, of at most `tilePixels` input pixels each (one when the level fits). */
export function pnetTileList(backend: Backend, height: number, width: number, tilePixels = defaultTilePixels(backend)): PnetTile[] {
  const tile = tileCells(tilePixels);
  const even = runsWinograd(backend);
  const moveBack = backend.capabilities.compilesPerShape;
  const rows = tileSpans(height, tile, even, moveBack);
  const cols = tileSpans(width, tile, even, moveBack);
  return rows.flatMap((r) => cols.map((c) => ({
    window: { y0: r.from, y1: r.to, x0: c.from, x1: c.to },
    cells: { y: r.from / 2, x: c.from / 2, y0: r.own, y1: r.end, x0: c.own, x1: c.end },
  })));
}

/**
 * A tile's input: a level tensor that is one tile as it is, otherwise the tile's window read into
 * `spare` when that has the right size.
 */
export function readPnetTile(level: Tensor | LevelSource, tile: PnetTile, spare?: Float32Array): Tensor {
  const { y0, y1, x0, x1 } = tile.window;
  if (level instanceof Tensor && y0 === 0 && x0 === 0 && y1 === level.shape[2] && x1 === level.shape[3]) return level;
  const size = 3 * (y1 - y0) * (x1 - x0);
  return (level instanceof Tensor ? tensorLevel(level) : level).read(tile.window, spare?.length === size ? spare : undefined);
}

/**
 * P-Net on a tile's input; hands its `prob` and `box` maps to `visit`, which must not keep them:
 * their buffers go back to the backend.
 */
export async function runPnetTile(pnet: Net, backend: Backend, input: Tensor, tile: PnetTile, visit: (maps: { prob: Tensor; box: Tensor }, cells: TileCells) => void): Promise<void> {
  const out = await pnet.forward(backend, input);
  visit({ prob: out.prob, box: out.box }, tile.cells);
  backend.release?.(out.prob);
  backend.release?.(out.box);
}

/**
 * Runs P-Net over a level in tiles of at most `tilePixels` input pixels (or whole when it fits
 * in one) and hands each tile's `prob` and `box` maps to `visit`, which must not keep them: their
 * buffers go back to the backend for the next tile. A caller that only scans the maps never
 * holds the level's maps whole (24 bytes a cell).
 */
export async function pnetTiles(pnet: Net, backend: Backend, level: Tensor | LevelSource, visit: (maps: { prob: Tensor; box: Tensor }, cells: TileCells) => void, tilePixels = defaultTilePixels(backend)): Promise<void> {
  const { height, width } = level instanceof Tensor ? { height: level.shape[2], width: level.shape[3] } : level;
  let spare: Float32Array | undefined;
  for (const tile of pnetTileList(backend, height, width, tilePixels)) {
    const input = readPnetTile(level, tile, spare);
    await runPnetTile(pnet, backend, input, tile, visit);
    if (input !== level) spare = input.data;
  }
}

/**
 * P-Net's `prob` and `box` maps of one pyramid level (a tensor, or a LevelSource read a tile at
 * a time), whole or in tiles of at most `tilePixels` input pixels.
 */
export async function pnetMaps(pnet: Net, backend: Backend, level: Tensor | LevelSource, tilePixels = defaultTilePixels(backend)): Promise<{ prob: Tensor; box: Tensor }> {
  const { height: h, width: w } = level instanceof Tensor ? { height: level.shape[2], width: level.shape[3] } : level;
  const tile = tileCells(tilePixels);
  if (tileSpans(h, tile, false, true).length === 1 && tileSpans(w, tile, false, true).length === 1) {
    const { prob, box } = await pnet.forward(backend, level instanceof Tensor ? level : level.read({ y0: 0, y1: h, x0: 0, x1: w }));
    return { prob, box };
  }
  const prob = new Tensor([1, 2, pnetCells(h), pnetCells(w)]);
  const box = new Tensor([1, 4, pnetCells(h), pnetCells(w)]);
  await pnetTiles(pnet, backend, level, (maps, at) => {
    place(maps.prob, prob, at.y, at.x);
    place(maps.box, box, at.y, at.x);
  }, tilePixels);
  return { prob, box };
}
