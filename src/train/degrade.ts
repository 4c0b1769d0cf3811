// Degradations applied to a whole photo before detection, to train and evaluate an embedder on
// the pictures a worse camera takes: "downscale:32" (longer side to 32 px and back, PIL bicubic
// both ways, as a low-resolution sensor), "blur:1.5" (Gaussian, sigma in pixels), "jpeg:30"
// (encoded and decoded again at that quality). Several are applied left to right:
// "downscale:48,jpeg:50".
import jpeg from 'jpeg-js';
import { decodeImage, type RgbImage } from '../image/decode.ts';
import { resizeBicubic } from '../image/resize.ts';
import { ArgumentError } from '../errors.ts';

export type Degradation =
  | { kind: 'downscale'; size: number }
  | { kind: 'blur'; sigma: number }
  | { kind: 'jpeg'; quality: number };

/** Parses a --degrade value; '' or 'none' is no degradation. */
export function parseDegradation(spec: string): Degradation[] {
  if (spec === '' || spec === 'none') return [];
  return spec.split(',').map((part) => {
    const [kind, value, ...extra] = part.trim().split(':');
    const n = Number(value);
    if (extra.length || value === undefined || value === '' || !Number.isFinite(n)) throw new ArgumentError(`--degrade: "${part}" is not KIND:NUMBER (downscale:32, blur:1.5, jpeg:30)`);
    switch (kind) {
      case 'downscale':
        if (!Number.isInteger(n) || n < 4) throw new ArgumentError(`--degrade downscale:N needs an integer N >= 4, got ${value}`);
        return { kind, size: n };
      case 'blur':
        if (!(n > 0 && n <= 20)) throw new ArgumentError(`--degrade blur:SIGMA needs 0 < SIGMA <= 20, got ${value}`);
        return { kind, sigma: n };
      case 'jpeg':
        if (!Number.isInteger(n) || n < 1 || n > 100) throw new ArgumentError(`--degrade jpeg:Q needs an integer quality 1..100, got ${value}`);
        return { kind, quality: n };
      default:
        throw new ArgumentError(`--degrade: unknown degradation "${kind}" (downscale, blur, jpeg)`);
    }
  });
}

/** The canonical spelling, for cache keys and provenance ("none" when empty). */
export function formatDegradation(steps: readonly Degradation[]): string {
  if (steps.length === 0) return 'none';
  return steps.map((d) => (d.kind === 'downscale' ? `downscale:${d.size}` : d.kind === 'blur' ? `blur:${d.sigma}` : `jpeg:${d.quality}`)).join(',');
}

export function degrade(img: RgbImage, steps: readonly Degradation[]): RgbImage {
  let out = img;
  for (const d of steps) {
    if (d.kind === 'downscale') out = downscaleRoundTrip(out, d.size);
    else if (d.kind === 'blur') out = gaussianBlur(out, d.sigma);
    else out = jpegRoundTrip(out, d.quality);
  }
  return out;
}

/** Longer side to `size` (never up), then back to the original size. */
function downscaleRoundTrip(img: RgbImage, size: number): RgbImage {
  const longer = Math.max(img.width, img.height);
  if (longer <= size) return img;
  const s = size / longer;
  const small = resizeBicubic(img, Math.max(1, Math.round(img.width * s)), Math.max(1, Math.round(img.height * s)));
  return resizeBicubic(small, img.width, img.height);
}

/** Separable Gaussian over 3 sigma each side, edges replicated, rounded to bytes after both passes. */
function gaussianBlur(img: RgbImage, sigma: number): RgbImage {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += kernel[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  const { width: w, height: h, data } = img;
  const mid = new Float64Array(w * h * 3);
  const clamp = (v: number, n: number) => (v < 0 ? 0 : v >= n ? n - 1 : v);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    let v = 0;
    for (let k = -radius; k <= radius; k++) v += kernel[k + radius] * data[(y * w + clamp(x + k, w)) * 3 + c];
    mid[(y * w + x) * 3 + c] = v;
  }
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    let v = 0;
    for (let k = -radius; k <= radius; k++) v += kernel[k + radius] * mid[(clamp(y + k, h) * w + x) * 3 + c];
    out[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
  }
  return { width: w, height: h, data: out };
}

function jpegRoundTrip(img: RgbImage, quality: number): RgbImage {
  const rgba = new Uint8Array(img.width * img.height * 4);
  for (let p = 0, q = 0; p < img.data.length; p += 3, q += 4) {
    rgba[q] = img.data[p]; rgba[q + 1] = img.data[p + 1]; rgba[q + 2] = img.data[p + 2]; rgba[q + 3] = 255;
  }
  const encoded = jpeg.encode({ width: img.width, height: img.height, data: rgba }, quality).data;
  return decodeImage(new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength));
}
