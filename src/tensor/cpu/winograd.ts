// Winograd F(m x m, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
// 2015) for stride-1 3x3 convolutions, m = 2 or 4: each m x m block of outputs comes from an
// (m + 2) x (m + 2) input tile. F(2x2, 3x3) takes 16 multiplications per (input, output)
// channel pair where the direct conv takes 36; F(4x4, 3x3) takes 36 where the direct conv takes
// 144, at the price of transforms with larger constants, so a little more rounding. The
// transform sizes, the task geometry and the weight transforms live here; the wasm kernels in
// simdWinograd.ts.
//
// The (m + 2)^2 products of a tile are as many independent GEMMs over input channels, so the
// existing GEMM layouts carry over: U_s = (G g G^T)_s packed in blocks of 4 output rows, and
// for each s a panel of 4 tiles x cIn transformed input values (V = B^T d B).
import { MR, type ConvPlan } from './convPlan.ts';

/**
 * Which convs take the Winograd path (when it is switched on): stride 1, 3x3, dense, and
 * enough input channels that the per-tile transforms (fixed cost per input channel and tile)
 * stay small next to the 16 GEMMs (cost per input and output channel pair).
 */
export function winogradFits(p: ConvPlan): boolean {
  return p.simd && p.kH === 3 && p.kW === 3 && p.strideH === 1 && p.strideW === 1 && p.groups === 1
    && p.cIn >= WINOGRAD_MIN_CIN && p.cOut >= WINOGRAD_MIN_COUT;
}

export const WINOGRAD_MIN_CIN = 8;
export const WINOGRAD_MIN_COUT = 8;

/** Input channels from which a Winograd conv may take 4x4 blocks (winogradTileFor). */
export const WINOGRAD4_MIN_CIN = 32;

/** Output maps of at most this many pixels take 2x2 blocks whatever their channels (winogradTileFor). */
export const WINOGRAD4_MAX_SMALL_MAP = 36;

/**
 * The block side a Winograd conv runs with when the backend allows up to `largest`: 4 from
 * WINOGRAD4_MIN_CIN input channels on output maps larger than 6x6, else 2.
 *
 * The narrower convs are MTCNN's P-Net and R-Net: R-Net's is no faster as F(4x4) (x1.02), and
 * P-Net's passes are cut into tiles, row bands and tracking windows that must round as the
 * whole level does. F(2x2) blocks do that even where a part ends inside a block: a block's
 * first output row and column never read its last input row and column (A^T's first row and
 * B^T's first three rows leave them out), where F(4x4)'s transforms mix all 6 inputs into every
 * output. That rule depends on the channels alone, so those layers run the same way at every map
 * size, batch size and part.
 *
 * The small maps are nn4.small2's inception 4 and 5 (6x6 and 3x3): there a conv's weights are
 * streamed for few outputs, and F(4x4)'s 36 transformed weights per channel pair (against
 * F(2x2)'s 16) cost more than its multiplications save, as its blocks are mostly padding
 * (64 outputs computed for 36, 16 for 9). With F(2x2) there one face took x0.93 of its time on
 * one thread and x0.94 on two, and 32 faces x0.99 (a scratch A/B in turns, 150 and 14 turns).
 * Where the map is not known (a recorded pass judged before its input: CpuBackend.takesLargeBlocks)
 * a conv is taken to be on a large map.
 */
export function winogradTileFor(p: Pick<ConvPlan, 'cIn'> & Partial<Pick<ConvPlan, 'outH' | 'outW'>>, largest: 2 | 4): 2 | 4 {
  const smallMap = p.outH !== undefined && p.outW !== undefined && p.outH * p.outW <= WINOGRAD4_MAX_SMALL_MAP;
  return largest === 4 && p.cIn >= WINOGRAD4_MIN_CIN && !smallMap ? 4 : 2;
}

/** Output block side m of a Winograd conv (ConvPlan.winogradTile, 2 where absent). */
export function winogradTile(p: ConvPlan): 2 | 4 {
  return p.winogradTile ?? 2;
}

/** Products per tile: (m + 2)^2. */
export function winogradProducts(p: ConvPlan): number {
  const n = winogradTile(p) + 2;
  return n * n;
}

/**
 * How a conv's output tiles are cut into tasks. Tiles are m x m output blocks; tile row R of the
 * whole batch (item R / tH, row R % tH) holds tW tiles. Within a task tiles sit side by side
 * in "virtual" order, their (m + 2)-wide input windows m columns apart in a strip of m + 2 input
 * rows per channel, so 4 neighbours load as a few vectors whether or not they share a tile row.
 * Several whole tile rows per task (narrow images): each row is followed by one spare tile
 * whose window would straddle two rows' data; its results are never copied out. A wide row
 * is instead split into chunks of one row each.
 */
export interface WinogradGeometry {
  tH: number;
  tW: number;
  /** Tile rows per task (narrow), or 0 when a task is a chunk of one row (wide). */
  rowsPerTask: number;
  /** Wide: chunks per tile row and tiles per chunk. */
  chunks: number;
  chunkTiles: number;
  /** Virtual tiles per task at most, a multiple of 4; panels of 4 tiles. */
  tiles: number;
  panels: number;
  /** Output block side. */
  m: number;
  /** Floats per strip row (one channel's input row), with slack for the last panel's loads. */
  strip: number;
  tasks: number;
  /** Output rows padded to whole blocks, and rows per GEMM group (the M buffer's height). */
  rowsPad: number;
  group: number;
}

export function winogradGeometry(p: ConvPlan): WinogradGeometry {
  const m = winogradTile(p);
  const products = winogradProducts(p);
  const tH = Math.ceil(p.outH / m);
  const tW = Math.ceil(p.outW / m);
  // About 128 KB of transformed input per task (products * cIn * tiles floats): it is read once
  // per output row block, so it should stay in L2.
  const cap = Math.max(16, Math.min(512, Math.floor(32768 / products / p.cIn / 8) * 8));
  let rowsPerTask = 0, chunks = 1, chunkTiles = 0, tiles: number, tasks: number;
  const tileRows = p.n * tH;
  if (tW + 1 <= cap) {
    rowsPerTask = Math.floor(cap / (tW + 1));
    tiles = rowsPerTask * (tW + 1);
    tasks = Math.ceil(tileRows / rowsPerTask);
  } else {
    chunks = Math.ceil(tW / cap);
    chunkTiles = Math.ceil(tW / chunks / 4) * 4;
    chunks = Math.ceil(tW / chunkTiles);
    tiles = chunkTiles;
    tasks = tileRows * chunks;
  }
  const panels = Math.ceil(tiles / 4);
  const rowsPad = Math.ceil(p.cOut / MR) * MR;
  // The GEMMs' outputs (products x group x tiles floats) about 64 KB, so the output transform
  // reads them from L1/L2 right after they are written.
  const group = Math.min(rowsPad, Math.max(MR, Math.floor(16384 / products / (panels * 4) / MR) * MR));
  // A panel's loads reach 4m + 4 floats past its first column (the next panel's first vector).
  return { tH, tW, m, rowsPerTask, chunks, chunkTiles, tiles: panels * 4, panels, strip: 4 * m * panels + 8, tasks, rowsPad, group };
}

export function winogradTaskCount(p: ConvPlan): number {
  return winogradGeometry(p).tasks;
}

export function winogradWeightLength(p: ConvPlan): number {
  return winogradProducts(p) * Math.ceil(p.cOut / MR) * MR * p.cIn;
}

/**
 * G of F(m x m, 3x3), (m + 2) x 3: row j is (1, p, p^2) / N_j at the interpolation point p,
 * N_j the product of p - q over the other finite points q, and the last row (0, 0, 1) the
 * point at infinity. F(2x2): points 0, 1, -1. F(4x4): 0, 1, -1, 1/2, -2 (simdWinogradF4.ts says
 * why, and gives B^T and A^T).
 */
const G: Record<2 | 4, number[][]> = {
  2: [[1, 0, 0], [1 / 2, 1 / 2, 1 / 2], [1 / 2, -1 / 2, 1 / 2], [0, 0, 1]],
  4: [
    [1, 0, 0],
    [1 / 3, 1 / 3, 1 / 3],
    [-1 / 3, 1 / 3, -1 / 3],
    [-16 / 15, -8 / 15, -4 / 15],
    [1 / 15, -2 / 15, 4 / 15],
    [0, 0, 1],
  ],
};

/**
 * U = G g G^T per (output, input) channel, computed in float64 and rounded once, stored as
 * (m + 2)^2 matrices (s = (m + 2) i + j) each packed like packConvWeights: blocks of 4 output
 * rows, input channel outermost inside a block. Rows past cOut are zero.
 */
export function winogradWeights(p: ConvPlan, w: Float32Array, into?: Float32Array): Float32Array {
  const { cIn, cOut } = p;
  const g = G[winogradTile(p)];
  const n = g.length;
  const blocks = Math.ceil(cOut / MR);
  const out = into ?? new Float32Array(winogradWeightLength(p));
  out.fill(0);
  const setFloats = blocks * MR * cIn;
  const t = new Float64Array(n * 3);
  for (let m = 0; m < cOut; m++) {
    for (let c = 0; c < cIn; c++) {
      const k = (m * cIn + c) * 9;
      // G g: n rows of the kernel's 3 columns.
      for (let i = 0; i < n; i++) {
        for (let x = 0; x < 3; x++) t[3 * i + x] = g[i][0] * w[k + x] + g[i][1] * w[k + 3 + x] + g[i][2] * w[k + 6 + x];
      }
      const dst = Math.floor(m / MR) * MR * cIn + c * MR + (m % MR);
      // (G g) G^T.
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          out[(n * i + j) * setFloats + dst] = t[3 * i] * g[j][0] + t[3 * i + 1] * g[j][1] + t[3 * i + 2] * g[j][2];
        }
      }
    }
  }
  return out;
}
