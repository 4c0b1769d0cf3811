// PNG container: signature, chunks with their CRC-32, the header, the palette and the image
// data's IDAT chunks (views into the file's bytes, never joined: the inflater reads them in
// turn). Only structure is checked here; pixels are decode.ts's.
import { crc32 } from '../../io/crc32.ts';

export class PngFormatError extends Error {}

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlaced: boolean;
}

export interface PngParts {
  header: PngHeader;
  /** RGB triples, present for colour type 3. */
  palette: Uint8Array | null;
  /** The IDAT chunks' data in file order, one zlib stream when read in turn (views into the file's bytes). */
  data: Uint8Array[];
}

/** Bit depths the format allows for each colour type. */
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
const MAX_DIMENSION = 0x7fffffff;

function u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

export function hasPngSignature(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

/** The header (IHDR, which must come first) alone, so size limits apply before any decoding. */
export function readPngHeader(bytes: Uint8Array): PngHeader {
  if (!hasPngSignature(bytes)) throw new PngFormatError('not a PNG (bad signature)');
  if (bytes.length < 33) throw new PngFormatError('truncated before the end of the header chunk');
  if (u32(bytes, 8) !== 13 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') throw new PngFormatError('first chunk is not a 13-byte IHDR');
  if (crc32(bytes.subarray(12, 29)) !== u32(bytes, 29)) throw new PngFormatError('IHDR chunk CRC does not match');
  const width = u32(bytes, 16);
  const height = u32(bytes, 20);
  const [bitDepth, colorType, compression, filter, interlace] = bytes.subarray(24, 29);
  if (width === 0 || height === 0 || width > MAX_DIMENSION || height > MAX_DIMENSION) throw new PngFormatError(`invalid dimensions ${width}x${height}`);
  if (!DEPTHS[colorType]) throw new PngFormatError(`invalid colour type ${colorType}`);
  if (!DEPTHS[colorType].includes(bitDepth)) throw new PngFormatError(`bit depth ${bitDepth} is not allowed for colour type ${colorType}`);
  if (compression !== 0 || filter !== 0) throw new PngFormatError(`unknown compression (${compression}) or filter method (${filter})`);
  if (interlace > 1) throw new PngFormatError(`unknown interlace method ${interlace}`);
  return { width, height, bitDepth, colorType, interlaced: interlace === 1 };
}

/** Walks every chunk up to IEND, checking each CRC and the order the format requires. */
export function readPngChunks(bytes: Uint8Array): PngParts {
  const header = readPngHeader(bytes);
  let palette: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let idatEnded = false;
  let at = 33;
  for (;;) {
    if (at + 8 > bytes.length) throw new PngFormatError('truncated: the file ends before the IEND chunk');
    const length = u32(bytes, at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) throw new PngFormatError(`invalid chunk type at byte ${at + 4}`);
    if (length > 0x7fffffff || at + 12 + length > bytes.length) throw new PngFormatError(`truncated: the ${type} chunk at byte ${at} runs past the end of the file`);
    const data = bytes.subarray(at + 8, at + 8 + length);
    if (crc32(bytes.subarray(at + 4, at + 8 + length)) !== u32(bytes, at + 8 + length)) throw new PngFormatError(`${type} chunk CRC does not match`);
    at += 12 + length;
    if (type !== 'IDAT' && idat.length) idatEnded = true;
    if (type === 'IEND') break;
    if (type === 'IDAT') {
      if (idatEnded) throw new PngFormatError('IDAT chunks are not consecutive');
      idat.push(data);
    } else if (type === 'PLTE') {
      if (palette) throw new PngFormatError('more than one PLTE chunk');
      if (idat.length) throw new PngFormatError('PLTE after the image data');
      if (length % 3 !== 0 || length === 0 || length > 768) throw new PngFormatError(`PLTE of ${length} bytes (1 to 256 RGB entries expected)`);
      palette = data;
    } else if (type === 'IHDR') {
      throw new PngFormatError('second IHDR chunk');
    } else if ((type.charCodeAt(0) & 0x20) === 0) {
      // Ancillary chunks (lower-case first letter) are safe to skip; unknown critical ones are not.
      throw new PngFormatError(`unknown critical chunk ${type}`);
    }
  }
  if (idat.length === 0) throw new PngFormatError('no image data (IDAT chunk)');
  if (header.colorType === 3 && !palette) throw new PngFormatError('palette image without a PLTE chunk');
  return { header, palette: header.colorType === 3 ? palette : null, data: idat };
}
