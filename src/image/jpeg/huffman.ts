// Huffman tables (DHT) and the entropy-coded bit stream they decode.
// Codes of up to LOOKUP_BITS bits resolve in one table read; longer codes walk the canonical
// per-length limits, as the JPEG standard's decoding procedure describes.
import { ImageError } from '../../errors.ts';

export const LOOKUP_BITS = 9;

export interface HuffmanTable {
  /** Indexed by the next LOOKUP_BITS bits: (code length << 8) | symbol, or 0 for a longer code. */
  lookup: Uint16Array;
  /** Largest code of each length 1..16 (-1 when no code has that length). */
  maxCode: Int32Array;
  /** Index into `symbols` of the first code of each length, minus that code. */
  offset: Int32Array;
  symbols: Uint8Array;
}

/** Builds a table from the 16 code counts and the symbols of a DHT segment; `dc` tables hold sizes 0..15 only. */
export function buildHuffmanTable(counts: Uint8Array, symbols: Uint8Array, dc: boolean): HuffmanTable {
  const lookup = new Uint16Array(1 << LOOKUP_BITS);
  const maxCode = new Int32Array(18).fill(-1);
  const offset = new Int32Array(18);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1];
    offset[len] = k - code;
    for (let i = 0; i < n; i++, k++, code++) {
      if (len <= LOOKUP_BITS) {
        const shift = LOOKUP_BITS - len;
        const base = code << shift;
        for (let j = 0; j < 1 << shift; j++) lookup[base + j] = (len << 8) | symbols[k];
      }
    }
    if (n > 0) maxCode[len] = code - 1;
    // Canonical codes must fit in their length and may not be all ones (libjpeg's rule too).
    if (n > 0 && code >= 1 << len) throw new ImageError('corrupt JPEG: Huffman table has more codes than its lengths allow');
    code <<= 1;
  }
  maxCode[17] = 0x7fffffff;
  if (dc) {
    for (let i = 0; i < symbols.length; i++) {
      if (symbols[i] > 15) throw new ImageError(`corrupt JPEG: DC Huffman table holds size ${symbols[i]} (at most 15)`);
    }
  }
  return { lookup, maxCode, offset, symbols };
}

/**
 * Reads the entropy-coded bytes of one scan: undoes 0xFF00 byte stuffing, stops at the next marker
 * and, past it, feeds zero bits. Feeding zeros keeps look-ahead simple; `overran()` tells whether any
 * of them was actually consumed, which means the data ended before the declared image did.
 */
export class BitReader {
  /**
   * The next bits of the stream, in the low `bits` bits. Only fill() changes it, so a hot loop
   * may read bits through copies of these two (see progressive.ts), storing `bits` back before
   * any call to fill() or to the reader's methods.
   */
  acc = 0;
  /** Bits held in `acc`, the lowest `padBits` of which are zeros invented past the data. */
  bits = 0;
  private padBits = 0;
  /** Offset of the marker that ended the data, or -1 while still inside it. */
  markerAt = -1;

  constructor(private readonly data: Uint8Array, public pos: number) {}

  /** Tops `acc` up to more than 24 bits. */
  fill(): void {
    const data = this.data;
    if (this.markerAt < 0) {
      // Plain bytes (no 0xFF, which may start stuffing or a marker) go in through locals; the
      // loop below takes over at the first 0xFF or the end of the data.
      let acc = this.acc, bits = this.bits, pos = this.pos;
      const end = data.length;
      while (bits <= 24 && pos < end) {
        const byte = data[pos];
        if (byte === 0xff) break;
        acc = (acc << 8) | byte;
        bits += 8;
        pos++;
      }
      this.acc = acc;
      this.bits = bits;
      this.pos = pos;
    }
    while (this.bits <= 24) {
      let byte = 0;
      if (this.markerAt < 0 && this.pos < data.length) {
        byte = data[this.pos];
        if (byte === 0xff) {
          // 0xFF then 0x00 is a data byte 0xFF; extra 0xFF bytes are fill before a marker.
          let next = this.pos + 1;
          while (next < data.length && data[next] === 0xff) next++;
          if (next < data.length && data[next] === 0) {
            this.pos = next + 1;
          } else {
            this.markerAt = this.pos;
            byte = 0;
            this.padBits += 8;
          }
        } else {
          this.pos++;
        }
      } else {
        if (this.markerAt < 0) this.markerAt = this.pos;
        this.padBits += 8;
      }
      this.acc = (this.acc << 8) | byte;
      this.bits += 8;
    }
  }

  decode(table: HuffmanTable): number {
    if (this.bits < 16) this.fill();
    const entry = table.lookup[(this.acc >>> (this.bits - LOOKUP_BITS)) & ((1 << LOOKUP_BITS) - 1)];
    if (entry !== 0) {
      this.bits -= entry >> 8;
      return entry & 0xff;
    }
    for (let len = LOOKUP_BITS + 1; len <= 16; len++) {
      const code = (this.acc >>> (this.bits - len)) & ((1 << len) - 1);
      if (code <= table.maxCode[len]) {
        this.bits -= len;
        return table.symbols[table.offset[len] + code];
      }
    }
    throw new ImageError('corrupt JPEG: invalid Huffman code in the image data');
  }

  /** The next n bits (0..16) as an unsigned number. */
  bitsOf(n: number): number {
    if (n === 0) return 0;
    if (this.bits < n) this.fill();
    this.bits -= n;
    return (this.acc >>> this.bits) & ((1 << n) - 1);
  }

  /** The next n bits read as a JPEG magnitude category: a signed value of n bits. */
  signed(n: number): number {
    if (n === 0) return 0;
    if (this.bits < n) this.fill();
    this.bits -= n;
    const v = (this.acc >>> this.bits) & ((1 << n) - 1);
    // Top bit clear means negative: v - (2^n - 1). Without a branch, since signs are random.
    return v - ((((v >> (n - 1)) & 1) ^ 1) * ((1 << n) - 1));
  }

  bit(): number {
    if (this.bits < 1) this.fill();
    this.bits--;
    return (this.acc >>> this.bits) & 1;
  }

  /** True once a bit invented past the end of the data has been consumed. */
  overran(): boolean {
    return this.bits < this.padBits;
  }

  /**
   * Ends the data of a scan or restart interval: what is left in the last byte is padding, and the
   * next thing must be a marker. Returns the marker's offset; whole unread bytes mean the data does
   * not match the declared image size.
   */
  finish(): number {
    if (this.overran()) throw new ImageError('corrupt JPEG: image data ends before the declared image size is filled');
    if (this.bits - this.padBits >= 8) throw new ImageError('corrupt JPEG: image data goes on past the declared image size');
    if (this.markerAt < 0) {
      const data = this.data;
      if (this.pos < data.length && data[this.pos] !== 0xff) throw new ImageError('corrupt JPEG: image data goes on past the declared image size');
      this.markerAt = this.pos;
    }
    return this.markerAt;
  }

  /** Starts a fresh interval after a restart marker that ends at `pos`. */
  restart(pos: number): void {
    this.pos = pos;
    this.acc = 0;
    this.bits = 0;
    this.padBits = 0;
    this.markerAt = -1;
  }
}
