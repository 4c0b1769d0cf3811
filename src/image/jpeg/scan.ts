// One scan (SOS): walks its MCUs in order, handles restart intervals, and hands each block to a
// block decoder. An interleaved scan's MCU holds h x v blocks of each of its components; a scan
// of one component visits that component's blocks one by one, without the MCU padding.
import { ImageError } from '../../errors.ts';
import { BitReader, type HuffmanTable } from './huffman.ts';
import type { Component, Frame } from './frame.ts';

export interface Scan {
  components: Component[];
  dc: (HuffmanTable | null)[];
  ac: (HuffmanTable | null)[];
  ss: number;
  se: number;
  ah: number;
  al: number;
}

/** Decodes the block at (row, col) of the scan's component number `ci`. */
export type BlockDecoder = (reader: BitReader, ci: number, row: number, col: number) => void;

/**
 * Runs a scan starting at `pos` and returns the offset of the marker that follows its data.
 * `onRowEnd(my)` runs once each row of MCUs (a block row of a one-component scan) is decoded.
 */
export function runScan(data: Uint8Array, pos: number, frame: Frame, scan: Scan, restartInterval: number, decodeBlock: BlockDecoder, onRestart: () => void, onRowEnd?: (my: number) => void): number {
  const reader = new BitReader(data, pos);
  const comps = scan.components;
  const interleaved = comps.length > 1;
  const single = comps[0];
  const mcusWide = interleaved ? frame.mcusWide : single.blocksWide;
  const total = interleaved ? frame.mcusWide * frame.mcusHigh : single.blocksWide * single.blocksHigh;
  let expectedRestart = 0;
  for (let m = 0; m < total; m++) {
    if (restartInterval > 0 && m > 0 && m % restartInterval === 0) {
      let at = reader.finish();
      while (at < data.length && data[at] === 0xff) at++;
      if (at >= data.length || data[at] !== 0xd0 + expectedRestart) {
        throw new ImageError(`corrupt JPEG: restart marker ${expectedRestart} missing after ${m} MCUs`);
      }
      expectedRestart = (expectedRestart + 1) & 7;
      reader.restart(at + 1);
      for (const c of comps) c.dcPredictor = 0;
      onRestart();
    }
    const my = Math.floor(m / mcusWide);
    const mx = m - my * mcusWide;
    if (!interleaved) {
      decodeBlock(reader, 0, my, mx);
    } else {
      for (let ci = 0; ci < comps.length; ci++) {
        const c = comps[ci];
        for (let by = 0; by < c.v; by++) {
          for (let bx = 0; bx < c.h; bx++) decodeBlock(reader, ci, my * c.v + by, mx * c.h + bx);
        }
      }
    }
    if (reader.overran()) throw new ImageError('corrupt JPEG: image data ends before the declared image size is filled');
    if (onRowEnd && mx === mcusWide - 1) onRowEnd(my);
  }
  const end = reader.finish();
  let next = end;
  while (next < data.length && data[next] === 0xff) next++;
  if (data[next] >= 0xd0 && data[next] <= 0xd7) throw new ImageError('corrupt JPEG: image data goes on past the declared image size (restart marker after the last MCU)');
  return end;
}
