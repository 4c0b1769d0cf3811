// Bicubic resizing byte for byte as PIL's Image.resize(size, Image.BICUBIC) computes it on 8-bit
// RGB, because LFW-style protocols upscale small crops that way before detection, and one level
// of difference moves the detector's boxes. PIL's method: a separable convolution with the cubic
// kernel a = -0.5, widened by the scale when shrinking; weights normalised per output pixel, then
// turned into 22-bit fixed point; a horizontal pass into an 8-bit image, then a vertical one, each
// rounding with half an output unit and clamping to 0..255.
import { ArgumentError } from '../errors.ts';
import type { RgbImage } from './rgbImage.ts';

const PRECISION_BITS = 32 - 8 - 2;
const SUPPORT = 2;

function cubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

interface Coefficients {
  /** Per output pixel: first input index and tap count. */
  bounds: Int32Array;
  /** Per output pixel, `size` fixed-point weights. */
  weights: Int32Array;
  size: number;
}

function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(1, scale);
  const support = SUPPORT * filterScale;
  const size = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * size);
  const k = new Float64Array(size);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero; both ends are clamped to the image afterwards.
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      k[x] = cubic((x + xmin - center + 0.5) / filterScale);
      sum += k[x];
    }
    for (let x = 0; x < size; x++) {
      const w = x < xmax && sum !== 0 ? k[x] / sum : 0;
      weights[xx * size + x] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = xmax;
  }
  return { bounds, weights, size };
}

function clip8(v: number): number {
  const r = v >> PRECISION_BITS;
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

/**
 * One pass along rows (`stride` 3, step between taps 3) or columns (step 3 * width): `lines`
 * lines of `inLen` pixels become lines of `outLen`.
 */
function pass(src: Uint8Array, dst: Uint8Array, c: Coefficients, lines: number, lineStepIn: number, lineStepOut: number, tapStep: number, outStep: number, outLen: number): void {
  const half = 1 << (PRECISION_BITS - 1);
  for (let line = 0; line < lines; line++) {
    const inBase = line * lineStepIn;
    const outBase = line * lineStepOut;
    for (let o = 0; o < outLen; o++) {
      const xmin = c.bounds[2 * o];
      const n = c.bounds[2 * o + 1];
      const w = o * c.size;
      let r = half, g = half, b = half;
      for (let t = 0; t < n; t++) {
        const at = inBase + (xmin + t) * tapStep;
        const k = c.weights[w + t];
        r += src[at] * k;
        g += src[at + 1] * k;
        b += src[at + 2] * k;
      }
      const d = outBase + o * outStep;
      dst[d] = clip8(r);
      dst[d + 1] = clip8(g);
      dst[d + 2] = clip8(b);
    }
  }
}

/** `img` resized to width x height as PIL's bicubic resize does it (horizontal pass, then vertical). */
export function resizeBicubic(img: RgbImage, width: number, height: number): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new ArgumentError(`cannot resize to ${width}x${height}`);
  let cur = img;
  if (width !== img.width) {
    const out = new Uint8Array(width * img.height * 3);
    pass(img.data, out, coefficients(img.width, width), img.height, img.width * 3, width * 3, 3, 3, width);
    cur = { width, height: img.height, data: out };
  }
  if (height !== cur.height) {
    const out = new Uint8Array(width * height * 3);
    // Columns: each "line" is one column; taps step a whole row.
    pass(cur.data, out, coefficients(cur.height, height), width, 3, 3, width * 3, width * 3, height);
    cur = { width, height, data: out };
  }
  return cur === img ? { width, height, data: img.data.slice() } : cur;
}
