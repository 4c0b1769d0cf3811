// The decoder's picture of one JPEG: the frame header (SOF), its components and their geometry,
// and the tables in force. Geometry follows the JPEG standard: a component sampled h of hMax
// horizontally is ceil(width * h / hMax) samples wide.
import { ImageError } from '../../errors.ts';
import type { HuffmanTable } from './huffman.ts';

export interface Component {
  id: number;
  h: number;
  v: number;
  /** Quantisation table slot named by the frame header. */
  tq: number;
  /** The table's values in natural (row-major) order, latched when the component's first scan starts. */
  quant: Int32Array | null;
  /** Samples actually in the image (before padding to whole blocks). */
  width: number;
  height: number;
  /** Blocks holding those samples, and the blocks of the MCU-padded area an interleaved scan codes. */
  blocksWide: number;
  blocksHigh: number;
  paddedBlocksWide: number;
  paddedBlocksHigh: number;
  /** Decoded samples, paddedBlocksWide * 8 per row. */
  plane: Uint8Array | null;
  /**
   * Sample rows the plane holds: row r lives at plane row r % planeRows. All of the padded rows,
   * or, when the RGB output is written as the scan goes (rgbOutput.ts), two rows of MCUs.
   */
  planeRows: number;
  /** Progressive frames: every block's 64 coefficients (natural order), kept until the last scan. */
  coefficients: Int16Array | null;
  /**
   * Progressive: per block, the last scan position (zigzag) that holds a nonzero coefficient, so
   * that a refinement scan's end-of-band blocks need not walk the zeros after it.
   */
  lastNonzero: Uint8Array | null;
  /** Progressive: bits still missing per coefficient (-1 never sent), as libjpeg tracks them. */
  coefficientBits: Int8Array;
  scanned: boolean;
  dcPredictor: number;
}

export interface Frame {
  progressive: boolean;
  width: number;
  height: number;
  components: Component[];
  hMax: number;
  vMax: number;
  mcusWide: number;
  mcusHigh: number;
}

export interface Tables {
  quant: (Int32Array | null)[];
  dc: (HuffmanTable | null)[];
  ac: (HuffmanTable | null)[];
  restartInterval: number;
  /** APP14 "Adobe" colour transform (0 none, 1 YCbCr, 2 YCCK), -1 without the segment. */
  adobeTransform: number;
  jfif: boolean;
}

/** Scan order of the 64 coefficients; the 16 extra entries let a corrupt run land on the last one, as libjpeg does. */
export const ZIGZAG = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
  12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
  58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
]);

/** libjpeg-turbo's limits: 8-bit samples, 65500 pixels a side, 10 components, factors 1..4. */
export function parseFrame(data: Uint8Array, at: number, length: number, marker: number, maxPixels: number): Frame {
  if (marker === 0xc3 || (marker >= 0xc5 && marker <= 0xc7) || marker >= 0xcd) {
    throw new ImageError('unsupported JPEG: lossless or hierarchical coding');
  }
  if (marker >= 0xc9) throw new ImageError('unsupported JPEG: arithmetic coding');
  if (length < 6) throw new ImageError('corrupt JPEG: frame header too short');
  const precision = data[at];
  const height = (data[at + 1] << 8) | data[at + 2];
  const width = (data[at + 3] << 8) | data[at + 4];
  const count = data[at + 5];
  if (precision !== 8) throw new ImageError(`unsupported JPEG: ${precision}-bit samples (only 8-bit)`);
  if (height === 0) throw new ImageError('unsupported JPEG: height 0 (defined later by a DNL marker)');
  if (width === 0) throw new ImageError('corrupt JPEG: width 0');
  if (width > 65500 || height > 65500) throw new ImageError(`unsupported JPEG: ${width}x${height} is over 65500 pixels a side`);
  if (width * height > maxPixels) {
    throw new ImageError(`${width}x${height} is ${(width * height / 1e6).toFixed(1)} megapixels, over the limit of ${(maxPixels / 1e6).toFixed(1)}`);
  }
  if (count === 0 || count > 10) throw new ImageError(`corrupt JPEG: ${count} components`);
  if (length !== 6 + 3 * count) throw new ImageError('corrupt JPEG: frame header length does not match its component count');
  const components: Component[] = [];
  for (let i = 0; i < count; i++) {
    const o = at + 6 + 3 * i;
    const id = data[o];
    const h = data[o + 1] >> 4;
    const v = data[o + 1] & 15;
    const tq = data[o + 2];
    if (h < 1 || h > 4 || v < 1 || v > 4) throw new ImageError(`corrupt JPEG: sampling factor ${h}x${v} (1..4 allowed)`);
    if (tq > 3) throw new ImageError(`corrupt JPEG: quantisation table ${tq} (0..3 allowed)`);
    if (components.some((c) => c.id === id)) throw new ImageError(`corrupt JPEG: component id ${id} appears twice`);
    components.push({
      id, h, v, tq, quant: null, width: 0, height: 0, blocksWide: 0, blocksHigh: 0, paddedBlocksWide: 0, paddedBlocksHigh: 0,
      plane: null, planeRows: 0, coefficients: null, lastNonzero: null, coefficientBits: new Int8Array(64).fill(-1), scanned: false, dcPredictor: 0,
    });
  }
  const hMax = Math.max(...components.map((c) => c.h));
  const vMax = Math.max(...components.map((c) => c.v));
  const mcusWide = Math.ceil(width / (8 * hMax));
  const mcusHigh = Math.ceil(height / (8 * vMax));
  for (const c of components) {
    // Upsampling by a non-integer ratio is something libjpeg refuses too.
    if (hMax % c.h !== 0 || vMax % c.v !== 0) throw new ImageError(`unsupported JPEG: sampling ${c.h}x${c.v} is a fractional part of ${hMax}x${vMax}`);
    c.width = Math.ceil((width * c.h) / hMax);
    c.height = Math.ceil((height * c.v) / vMax);
    c.blocksWide = Math.ceil(c.width / 8);
    c.blocksHigh = Math.ceil(c.height / 8);
    c.paddedBlocksWide = mcusWide * c.h;
    c.paddedBlocksHigh = mcusHigh * c.v;
  }
  return { progressive: marker === 0xc2, width, height, components, hMax, vMax, mcusWide, mcusHigh };
}

/** Reads a DQT segment into `tables.quant` (values stored in natural order). */
export function parseQuantTables(data: Uint8Array, at: number, end: number, tables: Tables): void {
  while (at < end) {
    const precision = data[at] >> 4;
    const slot = data[at] & 15;
    if (precision > 1 || slot > 3) throw new ImageError(`corrupt JPEG: quantisation table header ${data[at]}`);
    const size = precision ? 128 : 64;
    if (at + 1 + size > end) throw new ImageError('corrupt JPEG: quantisation table runs past its segment');
    const table = new Int32Array(64);
    for (let k = 0; k < 64; k++) {
      table[ZIGZAG[k]] = precision ? (data[at + 1 + 2 * k] << 8) | data[at + 2 + 2 * k] : data[at + 1 + k];
    }
    tables.quant[slot] = table;
    at += 1 + size;
  }
}

/** Returns the counts and symbols of each table in a DHT segment. */
export function* huffmanSegments(data: Uint8Array, at: number, end: number): Generator<{ ac: boolean; slot: number; counts: Uint8Array; symbols: Uint8Array }> {
  while (at < end) {
    if (at + 17 > end) throw new ImageError('corrupt JPEG: Huffman table runs past its segment');
    const kind = data[at] >> 4;
    const slot = data[at] & 15;
    if (kind > 1 || slot > 3) throw new ImageError(`corrupt JPEG: Huffman table header ${data[at]}`);
    const counts = data.slice(at + 1, at + 17);
    let total = 0;
    for (let i = 0; i < 16; i++) total += counts[i];
    if (total > 256 || at + 17 + total > end) throw new ImageError('corrupt JPEG: Huffman table runs past its segment');
    yield { ac: kind === 1, slot, counts, symbols: data.slice(at + 17, at + 17 + total) };
    at += 17 + total;
  }
}
