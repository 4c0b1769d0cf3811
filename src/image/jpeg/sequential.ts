// Block decoding of sequential (baseline and extended) scans: each block arrives complete, so it
// is transformed into its component's plane at once and no coefficients are kept. Engines with
// WebAssembly SIMD take sequentialRows.ts instead, which transforms a row of MCUs at a time.
import { ImageError } from '../../errors.ts';
import type { BitReader } from './huffman.ts';
import { flatBlock, idctBlock, outOfRange } from './idct.ts';
import type { BlockDecoder, Scan } from './scan.ts';
import { readSequentialBlock } from './sequentialBlock.ts';

export function sequentialDecoder(scan: Scan): BlockDecoder {
  // Int16 storage truncates a corrupt coefficient the way libjpeg's 16-bit JCOEF does.
  const block = new Int16Array(64);
  const comps = scan.components;
  const dcTables = comps.map((_, i) => scan.dc[i]!);
  const acTables = comps.map((_, i) => scan.ac[i]!);
  const strides = comps.map((c) => c.paddedBlocksWide * 8);
  return (reader: BitReader, ci: number, row: number, col: number) => {
    const c = comps[ci];
    const anyAc = readSequentialBlock(reader, dcTables[ci], acTables[ci], c, block, 0);
    const stride = strides[ci];
    const outAt = ((row * 8) % c.planeRows) * stride + col * 8;
    // Flat blocks (common in chroma and smooth areas) need one sample value, not a transform.
    const ok = anyAc ? idctBlock(block, 0, c.quant!, c.plane!, outAt, stride) : flatBlock(block[0] * c.quant![0], c.plane!, outAt, stride);
    if (!ok) throw outOfRange(c.id);
    // The block is left all zero for the next one.
    if (anyAc) block.fill(0);
    else block[0] = 0;
  };
}

/** Sequential scans carry every coefficient at once; libjpeg ignores odd Ss/Se/Ah/Al there, and so does tsface. */
export function checkSequentialScan(scan: Scan): void {
  for (let i = 0; i < scan.components.length; i++) {
    if (!scan.dc[i]) throw new ImageError(`not a JPEG: missing Huffman table for DC of component ${scan.components[i].id}`);
    if (!scan.ac[i]) throw new ImageError(`not a JPEG: missing Huffman table for AC of component ${scan.components[i].id}`);
  }
}
