// Winograd F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
// 2015) for stride-1 3x3 convolutions: each 2x2 block of outputs comes from a 4x4 input tile
// with 16 multiplications per (input, output) channel pair instead of 36. The transform sizes,
// the task geometry and the weight transform live here; the wasm kernels in simdWinograd.ts.
//
// The 16 products of a tile are 16 independent GEMMs over input channels, so the existing
// GEMM layouts carry over: U_s = (G g G^T)_s packed in blocks of 4 output rows, and for each
// s a panel of 4 tiles x cIn transformed input values (V = B^T d B).
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

/**
 * How a conv's output tiles are cut into tasks. Tiles are 2x2 output blocks; tile row R of the
 * whole batch (item R / tH, row R % tH) holds tW tiles. Within a task tiles sit side by side
 * in "virtual" order, their 4x4 input windows 2 columns apart in a strip of 4 input rows per
 * channel, so 4 neighbours load as two stride-2 vectors whether or not they share a tile row.
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
  /** Floats per strip row (one channel's input row), with slack for the last panel's loads. */
  strip: number;
  tasks: number;
  /** Output rows padded to whole blocks, and rows per GEMM group (the M buffer's height). */
  rowsPad: number;
  group: number;
}

export function winogradGeometry(p: ConvPlan): WinogradGeometry {
  const tH = Math.ceil(p.outH / 2);
  const tW = Math.ceil(p.outW / 2);
  // About 128 KB of transformed input per task (16 * cIn * tiles floats): it is read once per
  // output row block, so it should stay in L2.
  const cap = Math.max(16, Math.min(512, Math.floor(2048 / p.cIn / 8) * 8));
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
  // The GEMMs' outputs (16 x group x tiles floats) about 64 KB, so the output transform reads
  // them from L1/L2 right after they are written.
  const group = Math.min(rowsPad, Math.max(MR, Math.floor(1024 / (panels * 4) / MR) * MR));
  return { tH, tW, rowsPerTask, chunks, chunkTiles, tiles: panels * 4, panels, strip: 8 * panels + 8, tasks, rowsPad, group };
}

export function winogradTaskCount(p: ConvPlan): number {
  return winogradGeometry(p).tasks;
}

export function winogradWeightLength(p: ConvPlan): number {
  return 16 * Math.ceil(p.cOut / MR) * MR * p.cIn;
}

/**
 * U = G g G^T per (output, input) channel, computed in float64 and rounded once, stored as 16
 * matrices (s = 4 i + j) each packed like packConvWeights: blocks of 4 output rows, input
 * channel outermost inside a block. Rows past cOut are zero.
 */
export function winogradWeights(p: ConvPlan, w: Float32Array, into?: Float32Array): Float32Array {
  const { cIn, cOut } = p;
  const blocks = Math.ceil(cOut / MR);
  const out = into ?? new Float32Array(winogradWeightLength(p));
  out.fill(0);
  const setFloats = blocks * MR * cIn;
  const t = new Float64Array(12);
  for (let m = 0; m < cOut; m++) {
    for (let c = 0; c < cIn; c++) {
      const g = (m * cIn + c) * 9;
      // G g: rows g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2 of the kernel's columns.
      for (let x = 0; x < 3; x++) {
        const g0 = w[g + x], g1 = w[g + 3 + x], g2 = w[g + 6 + x];
        t[x] = g0;
        t[3 + x] = (g0 + g1 + g2) / 2;
        t[6 + x] = (g0 - g1 + g2) / 2;
        t[9 + x] = g2;
      }
      const dst = Math.floor(m / MR) * MR * cIn + c * MR + (m % MR);
      for (let i = 0; i < 4; i++) {
        const a = t[3 * i], b = t[3 * i + 1], d = t[3 * i + 2];
        const u = [a, (a + b + d) / 2, (a - b + d) / 2, d];
        for (let j = 0; j < 4; j++) out[(4 * i + j) * setFloats + dst] = u[j];
      }
    }
  }
  return out;
}
