// Progressive scans: DC and AC bands sent in several passes of decreasing bit position (Al),
// refined later (Ah > 0). Coefficients accumulate per block until the last scan; then each
// block goes through the IDCT once. Scan parameters are checked as libjpeg checks them, and a
// scan out of order is refused instead of being decoded on top of the wrong bits.
import { ImageError } from '../../errors.ts';
import { LOOKUP_BITS, type BitReader, type HuffmanTable } from './huffman.ts';
import { ZIGZAG, type Component } from './frame.ts';
import { idctBlock, outOfRange } from './idct.ts';
import { idctRowSimd, idctSimdAvailable } from './idctSimd.ts';
import type { BlockDecoder, Scan } from './scan.ts';

export function checkProgressiveScan(scan: Scan): void {
  const { ss, se, ah, al } = scan;
  const dcBand = ss === 0;
  const bad = (dcBand ? se !== 0 : ss > se || se > 63 || scan.components.length !== 1) || (ah !== 0 && al !== ah - 1) || al > 13;
  if (bad) throw new ImageError(`corrupt JPEG: invalid progressive scan (Ss=${ss} Se=${se} Ah=${ah} Al=${al})`);
  scan.components.forEach((c, i) => {
    if (dcBand && ah === 0 && !scan.dc[i]) throw new ImageError(`not a JPEG: missing Huffman table for DC of component ${c.id}`);
    if (!dcBand && !scan.ac[i]) throw new ImageError(`not a JPEG: missing Huffman table for AC of component ${c.id}`);
    if (!dcBand && c.coefficientBits[0] < 0) throw new ImageError(`corrupt JPEG: AC scan of component ${c.id} before its DC scan`);
    for (let k = ss; k <= se; k++) {
      const have = c.coefficientBits[k] < 0 ? 0 : c.coefficientBits[k];
      if (ah !== have) throw new ImageError(`corrupt JPEG: progressive scan of component ${c.id} refines bits it does not have`);
      c.coefficientBits[k] = al;
    }
  });
}

/** End-of-band run shared by the blocks of one AC scan (reset at restart markers). */
export interface BandState { eobrun: number }

function acFirst(reader: BitReader, coefs: Int16Array, last: Uint8Array, at: number, ss: number, se: number, al: number, table: HuffmanTable, band: BandState): void {
  if (band.eobrun > 0) { band.eobrun--; return; }
  const zigzag = ZIGZAG; // local: module imports can be slower live bindings
  for (let k = ss; k <= se; k++) {
    const rs = reader.decode(table);
    const r = rs >> 4;
    const s = rs & 15;
    if (s !== 0) {
      k += r;
      coefs[at + zigzag[k]] = reader.signed(s) * (1 << al);
      // Past 63, zigzag[] sends a corrupt run to position 63 as well.
      const position = k < 63 ? k : 63;
      if (position > last[at >> 6]) last[at >> 6] = position;
    } else if (r === 15) {
      k += 15;
    } else {
      band.eobrun = (1 << r) + reader.bitsOf(r) - 1;
      break;
    }
  }
}

/**
 * Refinement: each nonzero coefficient passed over takes a correction bit (1 = one more unit
 * of 2^al away from zero); zeros are counted down by the run before a newly nonzero one.
 * Most of a progressive file's bits are read here, so the reader's accumulator is read through
 * locals (huffman.ts allows that) and short Huffman codes are looked up inline.
 */
function acRefine(reader: BitReader, coefs: Int16Array, last: Uint8Array, at: number, ss: number, se: number, al: number, table: HuffmanTable, band: BandState): void {
  const p1 = 1 << al;
  const m1 = -1 << al;
  const zigzag = ZIGZAG; // local: module imports can be slower live bindings
  const lookup = table.lookup;
  let acc = reader.acc;
  let bits = reader.bits;
  let k = ss;
  if (band.eobrun === 0) {
    for (; k <= se; k++) {
      if (bits < 16) { reader.bits = bits; reader.fill(); acc = reader.acc; bits = reader.bits; }
      let rs = lookup[(acc >>> (bits - LOOKUP_BITS)) & ((1 << LOOKUP_BITS) - 1)];
      if (rs !== 0) {
        bits -= rs >> 8;
        rs &= 0xff;
      } else {
        reader.bits = bits;
        rs = reader.decode(table);
        bits = reader.bits;
      }
      let r = rs >> 4;
      let s = rs & 15;
      if (s !== 0) {
        if (bits < 1) { reader.bits = bits; reader.fill(); acc = reader.acc; bits = reader.bits; }
        // 1 means +2^al, 0 means -2^al (written without a branch: signs are random).
        s = ((((acc >>> --bits) & 1) << 1) - 1) << al;
      } else if (r !== 15) {
        if (bits < r) { reader.bits = bits; reader.fill(); acc = reader.acc; bits = reader.bits; }
        bits -= r;
        band.eobrun = (1 << r) + ((acc >>> bits) & ((1 << r) - 1));
        break;
      }
      // Branch-free, because whether a coefficient is zero and what its correction bit says
      // are as good as random, so branches on them are mispredicted about half the time. A zero
      // takes no bit (taken = 0), gets 0 added and counts the run down; a nonzero coefficient
      // takes a bit and moves one unit away from zero when the bit is 1 and the unit not yet set.
      do {
        const z = at + zigzag[k];
        const v = coefs[z];
        if (bits < 1) { reader.bits = bits; reader.fill(); acc = reader.acc; bits = reader.bits; }
        const taken = (v | -v) >>> 31;
        bits -= taken;
        coefs[z] = v + ((((acc >>> bits) & taken & ~(v >> al)) << al) * ((v >> 31) | 1));
        r -= 1 - taken;
        // Only a zero can end the run, so the new coefficient goes where k stands.
        if (r < 0) break;
        k++;
      } while (k <= se);
      if (s !== 0) {
        coefs[at + zigzag[k]] = s;
        const position = k < 63 ? k : 63;
        if (position > last[at >> 6]) last[at >> 6] = position;
      }
    }
  }
  if (band.eobrun > 0) {
    // Nothing after the block's last nonzero coefficient takes a bit.
    const end = last[at >> 6] < se ? last[at >> 6] : se;
    for (; k <= end; k++) {
      const z = at + zigzag[k];
      const v = coefs[z];
      if (v !== 0) {
        if (bits < 1) { reader.bits = bits; reader.fill(); acc = reader.acc; bits = reader.bits; }
        if ((acc >>> --bits) & 1 && (v & p1) === 0) coefs[z] = v + (v >= 0 ? p1 : m1);
      }
    }
    band.eobrun--;
  }
  reader.bits = bits;
}

export function progressiveDecoder(scan: Scan, band: BandState): BlockDecoder {
  const comps = scan.components;
  const { ss, se, ah, al } = scan;
  if (ss === 0) {
    if (ah === 0) {
      return (reader, ci, row, col) => {
        const c = comps[ci];
        c.dcPredictor += reader.signed(reader.decode(scan.dc[ci]!));
        c.coefficients![(row * c.paddedBlocksWide + col) * 64] = c.dcPredictor * (1 << al);
      };
    }
    return (reader, ci, row, col) => {
      const c = comps[ci];
      if (reader.bit()) c.coefficients![(row * c.paddedBlocksWide + col) * 64] |= 1 << al;
    };
  }
  const c = comps[0];
  const coefs = c.coefficients!;
  const table = scan.ac[0]!;
  const wide = c.paddedBlocksWide;
  const last = c.lastNonzero!;
  const decode = ah === 0 ? acFirst : acRefine;
  return (reader, _ci, row, col) => decode(reader, coefs, last, (row * wide + col) * 64, ss, se, al, table, band);
}

/**
 * libjpeg smooths blocks whose low-frequency coefficients (1..9) are still missing bits when the
 * file ends; tsface does not invent that detail and refuses such a file instead.
 */
export function checkProgressionComplete(components: Component[]): void {
  for (const c of components) {
    if (c.coefficientBits[0] < 0) continue;
    for (let k = 1; k <= 9; k++) {
      if (c.coefficientBits[k] !== 0) {
        throw new ImageError(`unsupported JPEG: progressive scans of component ${c.id} stop before coefficient ${k} is complete`);
      }
    }
  }
}

/**
 * Transforms every stored block that holds image samples into the component's plane, in place:
 * the plane takes the first half of the coefficients' memory (1 byte a sample against 2). Block
 * row r's samples land in bytes that held rows below r/2, already transformed; row 0 would
 * overwrite itself, so it is read from a copy (the SIMD path copies each row out before writing).
 */
export function transformCoefficients(c: Component): void {
  const wide = c.paddedBlocksWide;
  const stride = wide * 8;
  const coefs = c.coefficients!;
  const plane = new Uint8Array(coefs.buffer, coefs.byteOffset, stride * c.paddedBlocksHigh * 8);
  if (idctSimdAvailable()) {
    for (let row = 0; row < c.blocksHigh; row++) {
      if (!idctRowSimd(coefs, row * wide * 64, c.blocksWide, c.quant!, plane, row * 8 * stride, stride)) throw outOfRange(c.id);
    }
  } else {
    const firstRow = coefs.slice(0, wide * 64);
    for (let row = 0; row < c.blocksHigh; row++) {
      const source = row === 0 ? firstRow : coefs;
      const base = row === 0 ? 0 : row * wide * 64;
      for (let col = 0; col < c.blocksWide; col++) {
        if (!idctBlock(source, base + col * 64, c.quant!, plane, row * 8 * stride + col * 8, stride)) throw outOfRange(c.id);
      }
    }
  }
  c.plane = plane;
  c.planeRows = c.paddedBlocksHigh * 8;
  c.coefficients = null;
}
