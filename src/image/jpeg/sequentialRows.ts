// Sequential scans with the SIMD IDCT (idctSimd.ts): a row of MCUs is decoded into coefficient
// buffers and transformed a block row at a time. The scalar decoder throws for a block out of
// range the moment it is decoded; here such a block is found when its row is transformed, or when
// the scan fails later in the row, and the blocks decoded so far are then checked in decoding
// order with idctBlock, so the error reported is the one the scalar decoder reports.
import { ImageError } from '../../errors.ts';
import type { BitReader } from './huffman.ts';
import type { Frame } from './frame.ts';
import { idctBlock, outOfRange } from './idct.ts';
import { idctRowSimd } from './idctSimd.ts';
import { runScan, type Scan } from './scan.ts';
import { readSequentialBlock } from './sequentialBlock.ts';

/** `onRowEnd(my)` runs once each row of MCUs (a block row of a one-component scan) is in the planes. */
export function runSequentialRows(data: Uint8Array, pos: number, frame: Frame, scan: Scan, restartInterval: number, onRowEnd?: (my: number) => void): number {
  const comps = scan.components;
  const interleaved = comps.length > 1;
  const dcTables = comps.map((_, i) => scan.dc[i]!);
  const acTables = comps.map((_, i) => scan.ac[i]!);
  // Block rows per row of MCUs, and the blocks of each row the scan codes.
  const bandRows = comps.map((c) => (interleaved ? c.v : 1));
  const rowBlocks = comps.map((c) => (interleaved ? c.paddedBlocksWide : c.blocksWide));
  // Int16 storage truncates a corrupt coefficient the way libjpeg's 16-bit JCOEF does.
  const buffers = comps.map((c, i) => new Int16Array(bandRows[i] * c.paddedBlocksWide * 64));
  // Blocks decoded in the current row, in order: component and offset in its buffer.
  const perRow = comps.reduce((n, c, i) => n + bandRows[i] * c.paddedBlocksWide, 0);
  const decodedComponent = new Uint8Array(perRow);
  const decodedAt = new Int32Array(perRow);
  let decoded = 0;

  const decodeBlock = (reader: BitReader, ci: number, row: number, col: number) => {
    const c = comps[ci];
    const at = ((row % bandRows[ci]) * c.paddedBlocksWide + col) * 64;
    readSequentialBlock(reader, dcTables[ci], acTables[ci], c, buffers[ci], at);
    decodedComponent[decoded] = ci;
    decodedAt[decoded++] = at;
  };

  /** The scalar decoder's verdict on the blocks decoded so far in this row: throws for the first one out of range. */
  const checkInOrder = () => {
    const scratch = new Uint8Array(64);
    for (let i = 0; i < decoded; i++) {
      const c = comps[decodedComponent[i]];
      if (!idctBlock(buffers[decodedComponent[i]], decodedAt[i], c.quant!, scratch, 0, 8)) throw outOfRange(c.id);
    }
  };

  const endRow = (my: number) => {
    for (let ci = 0; ci < comps.length; ci++) {
      const c = comps[ci];
      const stride = c.paddedBlocksWide * 8;
      for (let r = 0; r < bandRows[ci]; r++) {
        const blockRow = my * bandRows[ci] + r;
        const ok = idctRowSimd(buffers[ci], r * c.paddedBlocksWide * 64, rowBlocks[ci], c.quant!, c.plane!, ((blockRow * 8) % c.planeRows) * stride, stride);
        if (!ok) checkInOrder();
      }
      buffers[ci].fill(0);
    }
    decoded = 0;
    onRowEnd?.(my);
  };

  try {
    return runScan(data, pos, frame, scan, restartInterval, decodeBlock, () => {}, endRow);
  } catch (error) {
    if (error instanceof ImageError) checkInOrder();
    throw error;
  }
}
