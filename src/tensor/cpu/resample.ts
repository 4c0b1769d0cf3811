// Area resampling, as PyTorch's interpolate(mode='area') (adaptive average pooling): output
// cell i covers source cells floor(i*in/out) .. ceil((i+1)*in/out) - 1. The sum of 8-bit
// pixels is exact in float32; the average divides twice, fl32(fl32(sum / rows) / cols), as
// torch 1.13's kernel does: dividing once by rows * cols differs by one ulp on about 9% of
// pyramid values, enough to move exact score ties.
/** An 8-bit RGB image, row-major, 3 bytes a pixel. */
export interface RgbPixels {
  width: number;
  height: number;
  data: Uint8Array;
}

export type { Region } from '../geometry.ts';
import type { Region } from '../geometry.ts';

/** MTCNN's input normalisation in float32: (v - 127.5) * 0.0078125. */
export function normalizePixel(v: number): number {
  return Math.fround(Math.fround(v - 127.5) * 0.0078125);
}

/**
 * Resizes `region` of `img` to outH x outW with area interpolation, writing planar RGB
 * normalised values (C, H, W) into `out` at `offset`.
 */
export function areaResizeNormalized(img: RgbPixels, region: Region, outH: number, outW: number, out: Float32Array, offset = 0): void {
  const plane = outH * outW;
  areaAverage(img, region, outH, outW, (at, r, g, b) => {
    out[offset + at] = normalizePixel(r);
    out[offset + at + plane] = normalizePixel(g);
    out[offset + at + 2 * plane] = normalizePixel(b);
  });
}

/** The same area resampling to an 8-bit RGB image (rounded). */
export function areaResize(img: RgbPixels, region: Region, outH: number, outW: number): RgbPixels {
  const data = new Uint8Array(outH * outW * 3);
  areaAverage(img, region, outH, outW, (at, r, g, b) => {
    data[at * 3] = Math.round(r);
    data[at * 3 + 1] = Math.round(g);
    data[at * 3 + 2] = Math.round(b);
  });
  return { width: outW, height: outH, data };
}

/** Calls `emit(index, r, g, b)` with each output cell's float32 channel averages. */
function areaAverage(img: RgbPixels, region: Region, outH: number, outW: number, emit: (at: number, r: number, g: number, b: number) => void): void {
  const { data, width } = img;
  const rows = spans(region.height, outH);
  const cols = spans(region.width, outW);
  for (let oy = 0; oy < outH; oy++) {
    const y0 = region.y + rows[2 * oy];
    const y1 = region.y + rows[2 * oy + 1];
    for (let ox = 0; ox < outW; ox++) {
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
      const f = Math.fround;
      emit(oy * outW + ox, f(f(r / kh) / kw), f(f(g / kh) / kw), f(f(b / kh) / kw));
    }
  }
}

/** [start, end) of each output cell's source span, flattened. */
function spans(inSize: number, outSize: number): Int32Array {
  const s = new Int32Array(2 * outSize);
  for (let i = 0; i < outSize; i++) {
    s[2 * i] = Math.floor((i * inSize) / outSize);
    s[2 * i + 1] = Math.ceil(((i + 1) * inSize) / outSize);
  }
  return s;
}
