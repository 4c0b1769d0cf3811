// PNG to 8-bit RGB, written for tsface instead of going through pngjs: pngjs inflates with
// node:zlib, where a header declaring a huge image with empty data hits a zlib assertion that
// aborts the whole process (no try/catch can stop it), and on truncated data it has decoded
// and failed the same bytes on different runs. Here inflate is our own (inflate.ts), pulled
// one row at a time from the IDAT chunks where they lie in the file (no joined copy), and each
// row is unfiltered and written into the RGB output at once, so memory is the RGB output plus
// two rows, and data that holds fewer or more rows than the header declares is refused.
//
// Pixels follow what PIL's Image.open(...).convert('RGB') gives, checked by test/png-*.test.ts:
// alpha is dropped without compositing; 16-bit colour and grey+alpha keep the high byte;
// 16-bit grey is clipped to 0..255 (PIL opens it as 32-bit integers and clips on conversion);
// 1/2/4-bit grey is scaled to 0..255. Where this decoder is stricter than PIL: a palette index
// outside the palette (PIL shows it as grey), a missing IEND, a bad Adler-32 and image data
// longer than the declared size (PIL ignores the extra) are refused.
import { ImageError } from '../../errors.ts';
import { PngFormatError, readPngChunks, readPngHeader, type PngHeader } from './chunks.ts';
import { InflateError, Inflater } from './inflate.ts';
import type { RgbImage } from '../rgbImage.ts';

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Adam7 passes: x start, y start, x step, y step. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

export { hasPngSignature } from './chunks.ts';

/** Width and height from the header, or an ImageError when the header is malformed. */
export function pngSize(bytes: Uint8Array, source?: string): { width: number; height: number } {
  try {
    const { width, height } = readPngHeader(bytes);
    return { width, height };
  } catch (e) {
    throw asImageError(e, source);
  }
}

function asImageError(e: unknown, source?: string): unknown {
  if (e instanceof PngFormatError) return new ImageError(`corrupt PNG: ${e.message}`, source);
  if (e instanceof InflateError) return new ImageError(`corrupt PNG image data: ${e.message}`, source);
  return e;
}

/** Decodes a whole PNG; the caller has checked the header's size against its pixel limit. */
export function decodePng(bytes: Uint8Array, source?: string): RgbImage {
  try {
    return decodeParts(bytes);
  } catch (e) {
    throw asImageError(e, source);
  }
}

function decodeParts(bytes: Uint8Array): RgbImage {
  const { header, palette, data } = readPngChunks(bytes);
  const { width, height, bitDepth } = header;
  const passes = header.interlaced ? ADAM7 : [[0, 0, 1, 1]];
  const channels = CHANNELS[header.colorType];
  const bitsPerPixel = channels * bitDepth;
  // Deflate expands at most 1032:1 (a 258-byte match in 2 bits). Data too short to hold the
  // declared rows is refused here, before the output buffer is allocated: a 65-byte file
  // declaring 50 megapixels costs nothing.
  let rawSize = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((width - x0) / dx), ph = Math.ceil((height - y0) / dy);
    if (pw > 0 && ph > 0) rawSize += ph * (1 + Math.ceil((pw * bitsPerPixel) / 8));
  }
  const compressed = data.reduce((n, chunk) => n + chunk.length, 0);
  if (compressed * 1032 + 1024 < rawSize) {
    throw new PngFormatError(`image data ends early: ${compressed} compressed bytes cannot hold the ${width}x${height} declared (${rawSize} bytes of rows)`);
  }
  const out = new Uint8Array(width * height * 3);
  const inflater = new Inflater(data);
  const filterStep = Math.max(1, bitsPerPixel >> 3);
  const maxRow = Math.ceil((width * bitsPerPixel) / 8);
  let row = new Uint8Array(maxRow + 1);
  let prev = new Uint8Array(maxRow + 1);
  const toRgb = pixelWriter(header, palette);
  for (const [x0, y0, dx, dy] of passes) {
    const passWidth = Math.ceil((width - x0) / dx);
    const passHeight = Math.ceil((height - y0) / dy);
    if (passWidth <= 0 || passHeight <= 0) continue;
    const rowBytes = Math.ceil((passWidth * bitsPerPixel) / 8);
    prev.fill(0, 0, rowBytes + 1);
    for (let y = 0; y < passHeight; y++) {
      const got = inflater.read(row, 0, rowBytes + 1);
      if (got < rowBytes + 1) {
        throw new PngFormatError(`image data ends early: ${header.interlaced ? 'interlace pass rows' : 'rows'} ${y} of ${passHeight} present, ${width}x${height} declared`);
      }
      unfilter(row, prev, rowBytes, filterStep);
      toRgb(row, passWidth, out, ((y0 + y * dy) * width + x0) * 3, dx * 3);
      const t = prev; prev = row; row = t;
    }
  }
  if (inflater.read(new Uint8Array(1), 0, 1) > 0) throw new PngFormatError(`more image data than ${width}x${height} needs`);
  return { width, height, data: out };
}

/** Undoes the row filter in place; row[0] is the filter type, prev the previous unfiltered row. */
function unfilter(row: Uint8Array, prev: Uint8Array, n: number, bpp: number): void {
  const type = row[0];
  // Work on views that start at the first pixel byte (index 1 in both rows).
  const r = row.subarray(1, n + 1);
  const p = prev.subarray(1, n + 1);
  switch (type) {
    case 0: return;
    case 1: for (let i = bpp; i < n; i++) r[i] = (r[i] + r[i - bpp]) & 255; return;
    case 2: for (let i = 0; i < n; i++) r[i] = (r[i] + p[i]) & 255; return;
    case 3:
      for (let i = 0; i < bpp; i++) r[i] = (r[i] + (p[i] >> 1)) & 255;
      for (let i = bpp; i < n; i++) r[i] = (r[i] + ((r[i - bpp] + p[i]) >> 1)) & 255;
      return;
    case 4:
      for (let i = 0; i < bpp; i++) r[i] = (r[i] + p[i]) & 255;
      for (let i = bpp; i < n; i++) {
        const a = r[i - bpp], b = p[i], c = p[i - bpp];
        const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
        r[i] = (r[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
      }
      return;
    default:
      throw new PngFormatError(`unknown row filter type ${type}`);
  }
}

type PixelWriter = (row: Uint8Array, count: number, out: Uint8Array, at: number, step: number) => void;

/** Converts one unfiltered row (filter byte at index 0) to RGB at out[at], out[at + step]... */
function pixelWriter(header: PngHeader, palette: Uint8Array | null): PixelWriter {
  const { colorType, bitDepth } = header;
  const bytesPer = bitDepth === 16 ? 2 : 1;
  if (colorType === 2 || colorType === 6) {
    const stride = (colorType === 2 ? 3 : 4) * bytesPer;
    // 16-bit: the high byte of each big-endian sample.
    return (row, count, out, at, step) => {
      for (let x = 0, s = 1; x < count; x++, s += stride, at += step) {
        out[at] = row[s]; out[at + 1] = row[s + bytesPer]; out[at + 2] = row[s + 2 * bytesPer];
      }
    };
  }
  if (colorType === 4) {
    const stride = 2 * bytesPer;
    return (row, count, out, at, step) => {
      for (let x = 0, s = 1; x < count; x++, s += stride, at += step) out[at] = out[at + 1] = out[at + 2] = row[s];
    };
  }
  if (colorType === 0 && bitDepth === 16) {
    return (row, count, out, at, step) => {
      for (let x = 0, s = 1; x < count; x++, s += 2, at += step) {
        const v = (row[s] << 8) | row[s + 1];
        out[at] = out[at + 1] = out[at + 2] = v > 255 ? 255 : v;
      }
    };
  }
  // Grey or palette indices of 1, 2, 4 or 8 bits, packed from the most significant bit.
  const perByte = 8 / bitDepth;
  const mask = (1 << bitDepth) - 1;
  const scale = 255 / mask;
  const entries = palette ? palette.length / 3 : 0;
  return (row, count, out, at, step) => {
    for (let x = 0; x < count; x++, at += step) {
      const byte = row[1 + Math.floor(x / perByte)];
      const v = (byte >> (8 - bitDepth * (1 + (x % perByte)))) & mask;
      if (palette) {
        if (v >= entries) throw new PngFormatError(`palette index ${v} is outside the ${entries}-entry palette`);
        out[at] = palette[v * 3]; out[at + 1] = palette[v * 3 + 1]; out[at + 2] = palette[v * 3 + 2];
      } else out[at] = out[at + 1] = out[at + 2] = v * scale;
    }
  };
}
