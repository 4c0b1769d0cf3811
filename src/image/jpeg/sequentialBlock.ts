// One block of a sequential scan, read whole: the DC difference, then the AC run/size codes until
// end of block. Both sequential decoders (block by block, and a row of MCUs at a time) read
// blocks this way; what they do with the coefficients differs.
import type { Component } from './frame.ts';
import { ZIGZAG } from './frame.ts';
import type { BitReader, HuffmanTable } from './huffman.ts';

// A module-level copy: an imported binding is live, slower to read per coefficient.
const zigzag = ZIGZAG;

/**
 * Reads a block's coefficients into block[at .. at + 64) in natural order (the range must hold
 * zeros) and updates the component's DC predictor. Returns whether any AC coefficient was coded.
 */
export function readSequentialBlock(reader: BitReader, dc: HuffmanTable, ac: HuffmanTable, c: Component, block: Int16Array, at: number): boolean {
  c.dcPredictor += reader.signed(reader.decode(dc));
  block[at] = c.dcPredictor;
  let anyAc = false;
  for (let k = 1; k < 64; k++) {
    const rs = reader.decode(ac);
    const s = rs & 15;
    const r = rs >> 4;
    if (s !== 0) {
      k += r;
      block[at + zigzag[k]] = reader.signed(s);
      anyAc = true;
    } else {
      if (r !== 15) break;
      k += 15;
    }
  }
  return anyAc;
}
