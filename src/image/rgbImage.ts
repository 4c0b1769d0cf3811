// The image types every stage shares: decoded 8-bit RGB, raw pixel buffers, and what a caller may hand in.
export interface RgbImage {
  width: number;
  height: number;
  /** width * height * 3 bytes, RGB, rows top to bottom. */
  data: Uint8Array;
}

export interface RawImage {
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA) channels of 8 bits, or floats 0..255 (checked for NaN). */
  data: Uint8Array | Uint8ClampedArray | Float32Array | number[];
  channels?: 3 | 4;
}

/**
 * A path (Node), encoded JPEG/PNG bytes, raw pixels with their size (ImageData is one), or in a
 * page an <img>, <canvas>, <video> or ImageBitmap (drawn once to read its pixels).
 */
export type ImageInput = string | Uint8Array | RawImage | RgbImage | ImageDrawable;

/** The browser's image objects, as far as tsface needs to know them. */
export type ImageDrawable = HTMLImageElement | HTMLCanvasElement | HTMLVideoElement | ImageBitmap | OffscreenCanvas;

