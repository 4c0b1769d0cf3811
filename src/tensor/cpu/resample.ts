// Area resampling, as PyTorch's interpolate(mode='area') (adaptive average pooling): output
// cell i covers source cells floor(i*in/out) .. ceil((i+1)*in/out) - 1. The sum of 8-bit
// pixels is exact in float32; the average divides twice, fl32(fl32(sum / rows) / cols), as
// torch 1.13's kernel does: dividing once by rows * cols differs by one ulp on about 9% of
// pyramid values, enough to move exact score ties.
import { IntegralImage } from './simdIntegral.ts';

/** An 8-bit RGB image, row-major, 3 bytes a pixel. */
export interface RgbPixels {
  width: number;
  height: number;
  data: Uint8Array;
  /** Its integral image (withIntegral), when the caller made one for a run of resizes: in TypeScript... */
  integral?: Int32Array;
  /** ...or in a WebAssembly memory, with the SIMD kernels that read it (simdIntegral.ts). */
  integralImage?: IntegralImage;
}

/** Images up to this many pixels get an integral image for a detection (12 bytes a pixel: 25 MB here). */
export const INTEGRAL_MAX_PIXELS = 1 << 21;

/**
 * `img` with its integral image: per channel, the sum of every pixel above and left of each
 * grid point, in (height + 1) x (width + 1) x 3 int32 cells. Every area average is then four
 * lookups per channel instead of a loop over its window; a detection's pyramid reads the whole
 * photo once per level and its crops as much again, so this is the larger part of a small
 * photo's resizing. The sums are the same integers, so the results are the same bits (at most
 * 2^21 pixels of 255: every cell stays below 2^29). Signed cells, since V8 keeps int32 values
 * in integer registers where uint32 ones may need doubles: the pyramid and crops of
 * multiface.jpg took 13.4-13.8 ms against 14.6-15.0 with uint32 (a scratch timing of
 * areaResizeWindowNormalized, three runs each). Larger images than INTEGRAL_MAX_PIXELS
 * are returned as they are: their integral would cost more memory than the photo.
 * The integral belongs to this call's snapshot of the pixels: make it per run, never cache it
 * on a buffer a caller may refill (a video frame). Where WebAssembly SIMD runs (and `kernels`),
 * the integral and the resizes from it are simdIntegral.ts's kernels (TSFACE_INTEGRAL_WASM=0
 * keeps these loops): 640x480 took 4.4 ms here and the pixels' cells 26-39 ns each.
 */
export function withIntegral(img: RgbPixels, kernels = true): RgbPixels {
  const { width, height, data } = img;
  if (width * height > INTEGRAL_MAX_PIXELS || width === 0 || height === 0) return img;
  const integralImage = kernels ? IntegralImage.of(width, height, data) : null;
  if (integralImage) return { width, height, data, integralImage };
  const integral = new Int32Array((height + 1) * (width + 1) * 3);
  // A call per row: a function called once with the whole image in one loop would run mostly
  // before V8 has optimised it.
  for (let y = 0; y < height; y++) integralRow(data, integral, width, y);
  return { width, height, data, integral };
}

function integralRow(data: Uint8Array, integral: Int32Array, width: number, y: number): void {
  const stride = (width + 1) * 3;
  let r = 0, g = 0, b = 0;
  let i = y * width * 3;
  let above = y * stride + 3;
  let at = above + stride;
  for (let x = 0; x < width; x++, i += 3, above += 3, at += 3) {
    r += data[i];
    g += data[i + 1];
    b += data[i + 2];
    integral[at] = integral[above] + r;
    integral[at + 1] = integral[above + 1] + g;
    integral[at + 2] = integral[above + 2] + b;
  }
}

export type { Region } from '../geometry.ts';
import type { Region } from '../geometry.ts';

/** MTCNN's input normalisation in float32: (v - 127.5) * 0.0078125. */
export function normalizePixel(v: number): number {
  return Math.fround(Math.fround(v - 127.5) * 0.0078125);
}

/** Output rows [y0, y1) and columns [x0, x1) of a resize: the part of it one call computes. */
export interface OutputWindow {
  y0: number;
  y1: number;
  x0: number;
  x1: number;
}

/**
 * Resizes `region` of `img` to outH x outW with area interpolation, writing planar RGB
 * normalised values (C, H, W) into `out` at `offset`.
 */
export function areaResizeNormalized(img: RgbPixels, region: Region, outH: number, outW: number, out: Float32Array, offset = 0): void {
  areaResizeWindowNormalized(img, region, outH, outW, { y0: 0, y1: outH, x0: 0, x1: outW }, out, offset);
}

/**
 * Only `window` of that resize, planar (C, window rows, window columns), each value bit for bit
 * the one the whole resize gives there: a large pyramid level can then be made a tile at a
 * time instead of existing whole as float32 (12 bytes a cell).
 */
export function areaResizeWindowNormalized(img: RgbPixels, region: Region, outH: number, outW: number, window: OutputWindow, out: Float32Array, offset = 0): void {
  const plane = (window.y1 - window.y0) * (window.x1 - window.x0);
  if (img.integralImage && plane > 0) {
    const rows = spans(region.height, outH, window.y0, window.y1);
    const cols = spans(region.width, outW, window.x0, window.x1);
    if (img.integralImage.resize(region, rows, cols, window.y1 - window.y0, window.x1 - window.x0, out, offset)) return;
  }
  if (img.integral) {
    integralNormalized(img, region, outH, outW, window, out, offset);
    return;
  }
  areaAverage(img, region, outH, outW, window, (at, r, g, b) => {
    out[offset + at] = normalizePixel(r);
    out[offset + at + plane] = normalizePixel(g);
    out[offset + at + 2 * plane] = normalizePixel(b);
  });
}

/** The same area resampling to an 8-bit RGB image (rounded). */
export function areaResize(img: RgbPixels, region: Region, outH: number, outW: number): RgbPixels {
  const data = new Uint8Array(outH * outW * 3);
  areaAverage(img, region, outH, outW, { y0: 0, y1: outH, x0: 0, x1: outW }, (at, r, g, b) => {
    data[at * 3] = Math.round(r);
    data[at * 3 + 1] = Math.round(g);
    data[at * 3 + 2] = Math.round(b);
  });
  return { width: outW, height: outH, data };
}

/** Calls `emit(index in the window, r, g, b)` with each window cell's float32 channel averages. */
function areaAverage(img: RgbPixels, region: Region, outH: number, outW: number, window: OutputWindow, emit: (at: number, r: number, g: number, b: number) => void): void {
  const { data, width } = img;
  const rows = spans(region.height, outH, window.y0, window.y1);
  const cols = spans(region.width, outW, window.x0, window.x1);
  const winW = window.x1 - window.x0;
  const f = Math.fround;
  for (let oy = 0; oy < window.y1 - window.y0; oy++) {
    const y0 = region.y + rows[2 * oy];
    const y1 = region.y + rows[2 * oy + 1];
    for (let ox = 0; ox < winW; ox++) {
      const x0 = region.x + cols[2 * ox];
      const x1 = region.x + cols[2 * ox + 1];
      let r = 0, g = 0, b = 0;
      for (let y = y0; y < y1; y++) {
        let i = (y * width + x0) * 3;
        for (let x = x0; x < x1; x++, i += 3) {
          r += data[i];
          g += data[i + 1];
          b += data[i + 2];
        }
      }
      const kh = y1 - y0;
      const kw = x1 - x0;
      emit(oy * winW + ox, f(f(r / kh) / kw), f(f(g / kh) / kw), f(f(b / kh) / kw));
    }
  }
}

/**
 * A cell's normalised value as a function of its channel sum over a kh x kw span, tabulated:
 * the float32 divisions and normalisation are fixed for a span, and a pyramid level or a crop has
 * only a few span shapes, so each value is computed once instead of per cell. Spans up to 64
 * pixels (every level from 1/8 scale up) have tables; larger ones divide as before.
 */
const TABLE_SPAN = 64;
const normTables: (Float32Array | undefined)[] = [];

function normTable(kh: number, kw: number): Float32Array | null {
  if (kh * kw > TABLE_SPAN) return null;
  const key = kh * (TABLE_SPAN + 1) + kw;
  let t = normTables[key];
  if (!t) {
    const f = Math.fround;
    t = new Float32Array(255 * kh * kw + 1);
    for (let r = 0; r < t.length; r++) t[r] = f(f(f(f(r / kh) / kw) - 127.5) * 0.0078125);
    normTables[key] = t;
  }
  return t;
}

/**
 * areaResizeWindowNormalized through the integral image, the averages normalised and stored
 * here rather than through a callback: this is every pyramid cell and crop pixel of a detection.
 */
function integralNormalized(img: RgbPixels, region: Region, outH: number, outW: number, window: OutputWindow, out: Float32Array, offset: number): void {
  const integral = img.integral!;
  const stride = (img.width + 1) * 3;
  const rows = spans(region.height, outH, window.y0, window.y1);
  const cols = spans(region.width, outW, window.x0, window.x1);
  const winW = window.x1 - window.x0;
  const plane = (window.y1 - window.y0) * winW;
  const f = Math.fround;
  for (let oy = 0; oy < window.y1 - window.y0; oy++) {
    const y0 = region.y + rows[2 * oy];
    const y1 = region.y + rows[2 * oy + 1];
    const top = y0 * stride;
    const bottom = y1 * stride;
    const kh = y1 - y0;
    let at = offset + oy * winW;
    // The table of the previous cell's width: the next cell's span mostly has the same.
    let tableW = -1;
    let table: Float32Array | null = null;
    for (let ox = 0; ox < winW; ox++, at++) {
      const x0 = 3 * (region.x + cols[2 * ox]);
      const x1 = 3 * (region.x + cols[2 * ox + 1]);
      const kw = (x1 - x0) / 3;
      const r = integral[bottom + x1] - integral[top + x1] - integral[bottom + x0] + integral[top + x0];
      const g = integral[bottom + x1 + 1] - integral[top + x1 + 1] - integral[bottom + x0 + 1] + integral[top + x0 + 1];
      const b = integral[bottom + x1 + 2] - integral[top + x1 + 2] - integral[bottom + x0 + 2] + integral[top + x0 + 2];
      if (kw !== tableW) {
        tableW = kw;
        table = normTable(kh, kw);
      }
      if (table) {
        out[at] = table[r];
        out[at + plane] = table[g];
        out[at + 2 * plane] = table[b];
      } else {
        out[at] = f(f(f(f(r / kh) / kw) - 127.5) * 0.0078125);
        out[at + plane] = f(f(f(f(g / kh) / kw) - 127.5) * 0.0078125);
        out[at + 2 * plane] = f(f(f(f(b / kh) / kw) - 127.5) * 0.0078125);
      }
    }
  }
}

/** [start, end) of the source span of output cells from .. to - 1, flattened. */
function spans(inSize: number, outSize: number, from: number, to: number): Int32Array {
  const s = new Int32Array(2 * (to - from));
  for (let i = from; i < to; i++) {
    s[2 * (i - from)] = Math.floor((i * inSize) / outSize);
    s[2 * (i - from) + 1] = Math.ceil(((i + 1) * inSize) / outSize);
  }
  return s;
}
