// Image input: JPEG (tsface's own decoder, jpeg/, or jpeg-js on request; EXIF orientation applied), PNG of any colour type and depth
// (tsface's own decoder, png/decode.ts), raw RGB/RGBA buffers. Everything becomes 8-bit RGB,
// row-major, 3 bytes a pixel.
// Alpha is dropped without compositing, as PIL's convert("RGB") does.
import { drawablePixels, env } from '../platform/index.ts';
import jpeg from 'jpeg-js';
import { readBoundedFile } from '../io/readFile.ts';
import { DEFAULT_MAX_BYTES, type ReadLimits } from '../io/limits.ts';
import { decodePng, hasPngSignature, pngSize } from './png/decode.ts';
import { ArgumentError, ImageError, InputValueError } from '../errors.ts';
import { decodeJpeg } from './jpeg/index.ts';
import type { ImageInput, RawImage, RgbImage } from './rgbImage.ts';

export type { ImageDrawable, ImageInput, RawImage, RgbImage } from './rgbImage.ts';

export interface DecodeOptions {
  /** Refuse images with more pixels than this before decoding them. Default DEFAULT_MAX_PIXELS (16.8 megapixels). */
  maxPixels?: number;
  /**
   * JPEG decoder: 'tsface' (default) gives libjpeg-turbo's pixels, as PIL, OpenCV and djpeg do;
   * 'jpeg-js' gives jpeg-js's (kept for comparisons with results computed on its pixels).
   * Default: TSFACE_JPEG_DECODER (the CLI's --decoder sets it), else 'tsface'.
   */
  decoder?: 'tsface' | 'jpeg-js';
}

/**
 * 4096 x 4096. At 12 megapixels a detection peaks at about 15 bytes per pixel above a warmed
 * runtime on two threads (13.6 from a PNG, 14.8 from a JPEG) and 9 to 11 on one, of which the
 * decode is 3 to 4 (the RGB output and the file: JPEG rows are converted as the scan completes
 * them, PNG inflates from its chunks where they lie); the rest is P-Net's tiles (a tile per
 * thread) and the backend's pools of released buffers (`npm run bench:soak -- --peak 12
 * --threads 1,2 [--format jpeg]`). So this default keeps one detection near 250 MB and under the
 * 10 s of `npm run bench:bombs` on a 2-core machine, while 12-megapixel phone photos (4032 x 3024) and 4K frames work. The
 * limit also bounds the decode of a file of a few kilobytes that declares a huge size.
 */
export const DEFAULT_MAX_PIXELS = 4096 * 4096;

function checkSize(width: number, height: number, maxPixels: number, source?: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageError(`invalid dimensions ${width}x${height}`, source);
  }
  if (width * height > maxPixels) {
    throw new ImageError(`${width}x${height} is ${(width * height / 1e6).toFixed(1)} megapixels, over the limit of ${(maxPixels / 1e6).toFixed(1)}`, source);
  }
}

/** Width and height from a JPEG's first SOF marker, without decoding anything. */
export function jpegSize(bytes: Uint8Array): { width: number; height: number } | null {
  let at = 2;
  while (at + 9 < bytes.length) {
    if (bytes[at] !== 0xff) return null;
    const marker = bytes[at + 1];
    if (marker === 0xff) { at++; continue; }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) { at += 2; continue; }
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) return { height: (bytes[at + 5] << 8) | bytes[at + 6], width: (bytes[at + 7] << 8) | bytes[at + 8] };
    if (length < 2) return null;
    at += 2 + length;
  }
  return null;
}

/** EXIF orientation (1..8) from the APP1 segment, 1 when absent or unreadable. */
export function jpegOrientation(bytes: Uint8Array): number {
  let at = 2;
  while (at + 4 < bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1];
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    if (marker === 0xda || length < 2) break;
    if (marker === 0xe1 && at + 10 < bytes.length && String.fromCharCode(...bytes.subarray(at + 4, at + 8)) === 'Exif') {
      const tiff = at + 10;
      const end = Math.min(bytes.length, at + 2 + length);
      if (tiff + 8 > end) return 1;
      const little = bytes[tiff] === 0x49;
      const u16 = (o: number) => (little ? bytes[o] | (bytes[o + 1] << 8) : (bytes[o] << 8) | bytes[o + 1]);
      const u32 = (o: number) => (little ? u16(o) + u16(o + 2) * 65536 : u16(o) * 65536 + u16(o + 2));
      const ifd = tiff + u32(tiff + 4);
      if (ifd + 2 > end) return 1;
      const count = u16(ifd);
      for (let i = 0; i < count; i++) {
        const entry = ifd + 2 + i * 12;
        if (entry + 12 > end) break;
        if (u16(entry) === 0x0112) {
          const v = u16(entry + 8);
          return v >= 1 && v <= 8 ? v : 1;
        }
      }
      return 1;
    }
    at += 2 + length;
  }
  return 1;
}

/** Applies an EXIF orientation so the image is upright, as viewers show it. */
export function applyOrientation(img: RgbImage, orientation: number): RgbImage {
  if (orientation <= 1) return img;
  const { width: w, height: h, data } = img;
  const swap = orientation >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const out = new Uint8Array(ow * oh * 3);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let sx: number, sy: number;
      switch (orientation) {
        case 2: sx = w - 1 - x; sy = y; break;
        case 3: sx = w - 1 - x; sy = h - 1 - y; break;
        case 4: sx = x; sy = h - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = h - 1 - x; break;
        case 7: sx = w - 1 - y; sy = h - 1 - x; break;
        default: sx = w - 1 - y; sy = x; break; // 8
      }
      const s = (sy * w + sx) * 3;
      const d = (y * ow + x) * 3;
      out[d] = data[s]; out[d + 1] = data[s + 1]; out[d + 2] = data[s + 2];
    }
  }
  return { width: ow, height: oh, data: out };
}

function rgbaToRgb(rgba: Uint8Array | Uint8ClampedArray | Buffer, width: number, height: number): RgbImage {
  const out = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < out.length; i += 4, j += 3) {
    out[j] = rgba[i]; out[j + 1] = rgba[i + 1]; out[j + 2] = rgba[i + 2];
  }
  return { width, height, data: out };
}

export function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}, source?: string): RgbImage {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    const size = jpegSize(bytes);
    if (!size) throw new ImageError('truncated or corrupt JPEG (no frame header)', source);
    checkSize(size.width, size.height, maxPixels, source);
    const decoder = options.decoder ?? env('TSFACE_JPEG_DECODER') ?? 'tsface';
    if (decoder === 'tsface') {
      let decoded: RgbImage;
      try {
        decoded = decodeJpeg(bytes, { maxPixels });
      } catch (e) {
        if (e instanceof ImageError) throw new ImageError(e.message, source);
        throw new ImageError(`corrupt JPEG (decoder fault: ${(e as Error).message})`, source);
      }
      return applyOrientation(decoded, jpegOrientation(bytes));
    }
    if (decoder !== 'jpeg-js') throw new ArgumentError(`unknown JPEG decoder ${JSON.stringify(decoder)} (use 'tsface' or 'jpeg-js')`);
    let decoded;
    try {
      decoded = jpeg.decode(bytes, { formatAsRGBA: true, useTArray: true, maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: 2048 });
    } catch (e) {
      throw new ImageError(`corrupt JPEG: ${(e as Error).message}`, source);
    }
    checkSize(decoded.width, decoded.height, maxPixels, source);
    return applyOrientation(rgbaToRgb(decoded.data, decoded.width, decoded.height), jpegOrientation(bytes));
  }
  if (hasPngSignature(bytes)) {
    const size = pngSize(bytes, source);
    checkSize(size.width, size.height, maxPixels, source);
    return decodePng(bytes, source);
  }
  throw new ImageError('not a JPEG or PNG image', source);
}

/** Any supported input as 8-bit RGB: a path, encoded bytes, or raw pixels with their size. */
export function toRgbImage(input: ImageInput, options: DecodeOptions & ReadLimits = {}): RgbImage {
  if (typeof input === 'string') {
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES.image;
    const bytes = readBoundedFile(input, maxBytes, (reason) => new ImageError(reason, input));
    return decodeImage(bytes, options, input);
  }
  if (input instanceof Uint8Array && !('width' in input)) return decodeImage(input, options);
  const raw = (drawablePixels(input) ?? input) as RawImage;
  const { width, height } = raw;
  checkSize(width, height, options.maxPixels ?? DEFAULT_MAX_PIXELS);
  const pixels = width * height;
  const channels = raw.channels ?? (raw.data.length === pixels * 4 ? 4 : 3);
  if (raw.data.length !== pixels * channels) {
    throw new ImageError(`raw buffer holds ${raw.data.length} values, ${width}x${height}x${channels} needs ${pixels * channels}`);
  }
  // 8-bit pixels need no check, rounding or clamp: copied as they are (a copy, since a video
  // frame's buffer may be refilled while the detection still reads it). The general loop below
  // took 2.5 ms for a 640x480 frame, paid once by track() and once more by the cascade.
  if (raw.data instanceof Uint8Array || raw.data instanceof Uint8ClampedArray) {
    if (channels === 3) return { width, height, data: new Uint8Array(raw.data) };
    return rgbaToRgb(raw.data, width, height);
  }
  const out = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) {
      const v = raw.data[p * channels + c];
      if (!Number.isFinite(v)) throw new InputValueError(`raw image value at pixel ${p}, channel ${c} is ${v}`);
      out[p * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return { width, height, data: out };
}
