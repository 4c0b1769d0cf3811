// Convolution tasks on the WebAssembly SIMD kernels of simdGemm.ts: the rows a share of tasks
// reads copied with their padding into the kernel's memory (or, for a 1x1 conv to a few
// channels over a large input, each chunk's pixels just before its GEMM), im2col panels gathered
// there, the GEMM with bias and activation, and its output copied into the result: row by row
// from a tile per chunk, or, for a small output map, from the whole map laid out in place.
import { convSizes, convTask, MR, NR, type ConvPlan } from './convPlan.ts';
import { copyFloats } from './copy.ts';
import { gemmArena, type GemmArena } from './simdGemm.ts';
import { simdWinogradTasks } from './simdWinograd.ts';

/**
 * convTasks with the SIMD GEMM: the packed weights, biases and slopes are copied into the
 * kernel's memory once per call, im2col writes its panels there, and the GEMM leaves a
 * row-major tile with bias and activation applied, copied out one output row at a time.
 */
export function simdConvTasks(
  p: ConvPlan, x: Float32Array, packed: Float32Array, bias: Float32Array | null, out: Float32Array,
  alpha: Float32Array | null, from: number, to: number,
): void {
  if (p.winograd) {
    simdWinogradTasks(p, x, packed, bias, out, alpha, from, to);
    return;
  }
  if (p.items) {
    smallMapTasks(p, x, packed, bias, out, alpha, from, to);
    return;
  }
  const { K, cInG, mG, blocks, hw } = convSizes(p);
  const { padH, padW, padPlane } = paddedSize(p);
  // A 1x1 stride-1 conv without padding needs no im2col: the GEMM reads the input planes.
  const direct = p.kH === 1 && p.kW === 1 && p.strideH === 1 && p.strideW === 1 && padPlane === p.inH * p.inW;
  // A small output map is laid out in the kernel's memory as in the result (rows of whole
  // output planes, each padded to a whole panel): the GEMM writes every chunk in place, and a
  // batch item's share leaves in one copy per output row, or one in all, instead of one per row
  // and chunk (a 14x14 map in chunks of 96 pixels took three copies per channel, one of 4 floats).
  const hwPad = Math.ceil(hw / NR) * NR;
  const rowsPad = blocks * MR;
  const inPlace = p.groups * rowsPad * hwPad <= IN_PLACE_FLOATS;
  // A 1x1 conv to a few channels over a large input (P-Net's heads: 32 planes of 74,000 pixels to
  // 2 and 4) copies each chunk's pixels of its input planes just before its GEMM, where they stay
  // in cache, rather than the whole input first, which the GEMM then reread from memory: with a
  // few multiply-adds per input value the copies are the time. With many (MobileFaceNet's 1x1
  // convs to 64 or more) a copy per plane and chunk cost more than it saved.
  const byChunk = direct && mG <= BY_CHUNK_MAX_ROWS && p.cIn * padPlane > BY_CHUNK_FLOATS;
  const inputFloats = byChunk ? cInG * p.chunk + NR : p.cIn * padPlane;
  const arena = loadedArena(p, packed, bias, alpha, inputFloats, inPlace ? p.groups * rowsPad * hwPad : rowsPad * p.chunk);
  const tile = arena.tile;
  const perItem = p.groups * Math.ceil(hw / p.chunk);
  for (let t = from; t < to; ) {
    // The tasks of one batch item in this share read only a band of its rows: that band is
    // what gets copied, so threads split the copying as they split the work, and a share of a
    // large image stays in cache.
    const item = Math.floor(t / perItem);
    const end = Math.min(to, (item + 1) * perItem);
    const first = convTask(p, t);
    const last = convTask(p, end - 1);
    const [j0, j1] = first.g === last.g ? [first.j0, last.j1] : [0, hw];
    const top = Math.floor(j0 / p.outW) * p.strideH;
    const bottom = Math.min(padH, Math.floor((j1 - 1) / p.outW) * p.strideH + p.kH);
    const band = (bottom - top) * padW;
    if (!byChunk) copyBand(p, x, arena.input, item, top, bottom, padW, band, padPlane !== p.inH * p.inW);
    if (!direct) {
      writeTaps(p, arena, cInG, band, padW);
    }
    for (; t < end; t++) {
      const { g, j0, j1 } = convTask(p, t);
      const cols = j1 - j0;
      const [ldc, into] = inPlace ? [hwPad, g * rowsPad * hwPad + j0] : [p.chunk, 0];
      if (byChunk) {
        // The chunk's pixels of each input plane, planes `chunk` floats apart (the last panel's
        // lanes past the chunk read the next plane's or the slack: their columns are never kept).
        const src = (item * p.cIn + g * cInG) * padPlane + j0;
        for (let c = 0; c < cInG; c++) copyFloats(arena.input, c * p.chunk, x, src + c * padPlane, cols);
        arena.runDirect(g * blocks * MR, K, blocks, Math.ceil(cols / NR), ldc, p.activation !== 0, 0, p.chunk, into);
      } else if (direct) {
        arena.runDirect(g * blocks * MR, K, blocks, Math.ceil(cols / NR), ldc, p.activation !== 0, g * cInG * band + j0 - top * padW, band, into);
      } else {
        simdUnroll(p, arena, g * cInG * band - top * padW, padW, K, j0, j1);
        arena.run(g * blocks * MR, K, blocks, Math.ceil(cols / NR), ldc, p.activation !== 0, into);
      }
      if (inPlace) continue;
      const dst = (item * p.cOut + g * mG) * hw + j0;
      for (let m = 0; m < mG; m++) copyFloats(out, dst + m * hw, tile, m * p.chunk, cols);
    }
    if (inPlace) copyInPlace(p, tile, out, item, first, last, rowsPad, hwPad);
  }
}

/** Input floats of a batch item above which a 1x1 conv to at most BY_CHUNK_MAX_ROWS channels a group copies its input chunk by chunk: 256 KB. */
const BY_CHUNK_FLOATS = 1 << 16;
const BY_CHUNK_MAX_ROWS = 16;

/** Output floats (rows padded to blocks, planes to panels) up to which an item's output is laid out whole in the kernel's memory: 512 KB, within L2. */
const IN_PLACE_FLOATS = 1 << 17;

/** The share of batch item `item` from task `first` to task `last`, laid out in place in `tile`, into the result. */
function copyInPlace(p: ConvPlan, tile: Float32Array, out: Float32Array, item: number, first: ConvTaskRange, last: ConvTaskRange, rowsPad: number, hwPad: number): void {
  const { mG, hw } = convSizes(p);
  const base = item * p.cOut * hw;
  // The whole item, planes unpadded and no padding rows: the layouts are the same.
  if (hwPad === hw && rowsPad === mG && first.g === 0 && first.j0 === 0 && last.g === p.groups - 1 && last.j1 === hw) {
    copyFloats(out, base, tile, 0, p.cOut * hw);
    return;
  }
  for (let g = first.g; g <= last.g; g++) {
    const j0 = g === first.g ? first.j0 : 0;
    const j1 = g === last.g ? last.j1 : hw;
    for (let m = 0; m < mG; m++) copyFloats(out, base + (g * mG + m) * hw + j0, tile, (g * rowsPad + m) * hwPad + j0, j1 - j0);
  }
}

type ConvTaskRange = ReturnType<typeof convTask>;

/** gather()'s table: byte offsets of a window's taps (c, ky, kx) from its first, channels `band` floats apart. */
function writeTaps(p: ConvPlan, arena: GemmArena, channels: number, band: number, padW: number): void {
  let i = 0;
  for (let c = 0; c < channels; c++) for (let ky = 0; ky < p.kH; ky++) for (let kx = 0; kx < p.kW; kx++) arena.taps[i++] = 4 * (c * band + ky * padW + kx);
}

/**
 * A batch item's planes as copied into the kernel's memory, with their zero padding written out
 * so that every window lies inside and im2col needs no bounds checks.
 */
function paddedSize(p: ConvPlan): { padH: number; padW: number; padPlane: number } {
  const padH = Math.max(p.inH + p.padTop, (p.outH - 1) * p.strideH + p.kH);
  const padW = Math.max(p.inW + p.padLeft, (p.outW - 1) * p.strideW + p.kW);
  return { padH, padW, padPlane: padH * padW };
}

/** The kernel's memory for one call with the packed weights in place, and the biases and slopes per packed row. */
function loadedArena(p: ConvPlan, packed: Float32Array, bias: Float32Array | null, alpha: Float32Array | null, inputFloats: number, tileFloats: number): GemmArena {
  const { K, mG, blocks } = convSizes(p);
  const arena = gemmArena(p.groups * blocks * MR, K, p.chunk * K, tileFloats, inputFloats, p.fma === true, packed, p.residentWeights === true);
  // Rows past cOut/g in a group's last block stay zero.
  arena.bias.fill(0);
  arena.alpha.fill(0);
  for (let g = 0; g < p.groups; g++) {
    for (let m = 0; m < mG; m++) {
      const c = g * mG + m;
      arena.bias[g * blocks * MR + m] = bias ? bias[c] : 0;
      arena.alpha[g * blocks * MR + m] = p.activation === 2 ? alpha![c] : 0;
    }
  }
  return arena;
}

/**
 * Tasks of a conv with smallMapItems: each task's `p.items` batch items are copied in whole one
 * after another, and their output pixels, item after item, are the columns of one GEMM. A panel
 * of 4 columns within one output row is gathered as 4 adjacent windows, any other (across rows
 * or items) lane by lane. Each output is the same sum in the same order as one item at a time.
 */
function smallMapTasks(
  p: ConvPlan, x: Float32Array, packed: Float32Array, bias: Float32Array | null, out: Float32Array,
  alpha: Float32Array | null, from: number, to: number,
): void {
  const { K, blocks, hw } = convSizes(p);
  const { padH, padW, padPlane } = paddedSize(p);
  const items = p.items!;
  const itemFloats = p.cIn * padPlane;
  const arena = loadedArena(p, packed, bias, alpha, items * itemFloats, blocks * MR * p.chunk);
  const padded = padPlane !== p.inH * p.inW;
  writeTaps(p, arena, p.cIn, padPlane, padW);
  const { outW, strideH, strideW } = p;
  const at = (col: number) => {
    const item = Math.floor(col / hw);
    const j = col - item * hw;
    const oy = Math.floor(j / outW);
    return item * itemFloats + oy * strideH * padW + (j - oy * outW) * strideW;
  };
  const tile = arena.tile;
  for (let t = from; t < to; t++) {
    const b0 = t * items;
    const count = Math.min(items, p.n - b0);
    if (!padded) copyFloats(arena.input, 0, x, b0 * p.cIn * padPlane, count * itemFloats);
    else for (let k = 0; k < count; k++) copyBand(p, x, arena.input.subarray(k * itemFloats), b0 + k, 0, padH, padW, padPlane, true);
    const cols = count * hw;
    for (let pj = 0; pj < cols; pj += NR) {
      const ox = (pj % hw) % outW;
      // Within one output row means within one item.
      if ((strideW === 1 || strideW === 2) && pj + NR <= cols && ox + NR <= outW) {
        arena.gather(strideW, pj / NR, at(pj), K, 1);
        continue;
      }
      const last = cols - 1;
      arena.gatherLanes(pj / NR, at(pj), at(Math.min(pj + 1, last)), at(Math.min(pj + 2, last)), at(Math.min(pj + 3, last)), K);
    }
    arena.run(0, K, blocks, Math.ceil(cols / NR), p.chunk, p.activation !== 0);
    for (let k = 0; k < count; k++) {
      const dst = (b0 + k) * p.cOut * hw;
      for (let m = 0; m < p.cOut; m++) copyFloats(out, dst + m * hw, tile, m * p.chunk + k * hw, hw);
    }
  }
}

/**
 * Rows [top, bottom) of batch item b's zero-padded planes into `input`, `band` floats per
 * channel. Without padding the rows of a channel are one contiguous run of x.
 */
function copyBand(p: ConvPlan, x: Float32Array, input: Float32Array, b: number, top: number, bottom: number, padW: number, band: number, padded: boolean): void {
  const plane = p.inH * p.inW;
  if (!padded) {
    const item = b * p.cIn * plane;
    // The whole item: its channels are one run of x.
    if (band === plane) return copyFloats(input, 0, x, item, p.cIn * plane);
    for (let c = 0; c < p.cIn; c++) copyFloats(input, c * band, x, item + c * plane + top * p.inW, band);
    return;
  }
  input.fill(0, 0, p.cIn * band);
  const y0 = Math.max(0, top - p.padTop);
  const y1 = Math.min(p.inH, bottom - p.padTop);
  for (let c = 0; c < p.cIn; c++) {
    for (let y = y0; y < y1; y++) {
      const src = (b * p.cIn + c) * plane + y * p.inW;
      copyFloats(input, c * band + (y + p.padTop - top) * padW + p.padLeft, x, src, p.inW);
    }
  }
}

/**
 * im2col into the kernel's panels from its padded copy of the batch item (`base`: the group's
 * first channel). Runs of panels within one output row load four lanes at once (stride 1) or
 * eight and keep the even ones (stride 2); other strides and panels across a row gather lane
 * by lane. Lanes past j1 repeat the last pixel: their columns of the tile are never read.
 */
function simdUnroll(p: ConvPlan, arena: GemmArena, base: number, padW: number, K: number, j0: number, j1: number): void {
  const { outW, strideH, strideW } = p;
  const at = (j: number) => {
    const oy = Math.floor(j / outW);
    return base + oy * strideH * padW + (j - oy * outW) * strideW;
  };
  for (let pj = j0; pj < j1; pj += NR) {
    const ox = pj % outW;
    if ((strideW === 1 || strideW === 2) && pj + NR <= j1 && ox + NR <= outW) {
      let count = 1;
      while (pj + (count + 1) * NR <= j1 && ox + (count + 1) * NR <= outW) count++;
      arena.gather(strideW, (pj - j0) / NR, at(pj), K, count);
      pj += (count - 1) * NR;
      continue;
    }
    const last = j1 - 1;
    arena.gatherLanes((pj - j0) / NR, at(pj), at(Math.min(pj + 1, last)), at(Math.min(pj + 2, last)), at(Math.min(pj + 3, last)), K);
  }
}

