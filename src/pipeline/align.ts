// Five-point face alignment: the least-squares similarity transform (rotation, uniform scale,
// translation; no reflection: Umeyama 1991, which in 2-D is linear in a = s cos, b = s sin)
// from the landmarks onto a model's template, then an inverse bilinear warp with 0 outside
// the image (as OpenCV's warpAffine with BORDER_CONSTANT).
import { ArgumentError, InputValueError } from '../errors.ts';
import type { RgbImage } from '../image/decode.ts';

/** The standard 112x112 five-point template (ArcFace/InsightFace), used by MobileFaceNet. */
export const TEMPLATE_112: readonly [number, number][] = [
  [38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041],
];

/**
 * The template for OpenFace's 96x96 nn4.small2.v1 input, derived from the 112 template:
 * OpenFace aligns with its outer-eye/nose landmarks scaled to the output size; its reference
 * crops put the eyes at the same relative height as the 112x112 template does, so this is the
 * 112 template scaled by 96/112 (a documented approximation; see README).
 */
export const TEMPLATE_96: readonly [number, number][] = TEMPLATE_112.map(([x, y]) => [(x * 96) / 112, (y * 96) / 112]);

/** A 2x3 matrix [[a, -b, tx], [b, a, ty]] mapping image points to crop points. */
export type Affine = [[number, number, number], [number, number, number]];

export function similarityTransform(src: readonly (readonly number[])[], dst: readonly (readonly number[])[]): Affine {
  const n = src.length;
  if (n < 2 || dst.length !== n) throw new ArgumentError(`alignment needs matching point lists (got ${n} and ${dst.length})`);
  for (const p of src) if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) throw new InputValueError(`landmark ${p} is not finite`);
  let sx = 0, sy = 0, dx = 0, dy = 0;
  for (let i = 0; i < n; i++) { sx += src[i][0]; sy += src[i][1]; dx += dst[i][0]; dy += dst[i][1]; }
  sx /= n; sy /= n; dx /= n; dy /= n;
  let num1 = 0, num2 = 0, den = 0;
  for (let i = 0; i < n; i++) {
    const xs = src[i][0] - sx, ys = src[i][1] - sy, xd = dst[i][0] - dx, yd = dst[i][1] - dy;
    num1 += xs * xd + ys * yd;
    num2 += xs * yd - ys * xd;
    den += xs * xs + ys * ys;
  }
  if (!(den > 1e-9)) throw new InputValueError('landmarks coincide: the face is too small to align');
  const a = num1 / den;
  const b = num2 / den;
  return [[a, -b, dx - (a * sx - b * sy)], [b, a, dy - (b * sx + a * sy)]];
}

/** Warps `img` into a size x size crop through the inverse of `m`; bilinear, 0 outside. */
export function warpAffine(img: RgbImage, m: Affine, width: number, height = width): RgbImage {
  const [[a, b, c], [d, e, f]] = m;
  const det = a * e - b * d;
  if (!(Math.abs(det) > 1e-12)) throw new InputValueError('alignment transform is degenerate');
  const ia = e / det, ib = -b / det, id = -d / det, ie = a / det;
  const ic = -(ia * c + ib * f), if_ = -(id * c + ie * f);
  const out = new Uint8Array(width * height * 3);
  const { data, width: w, height: h } = img;
  const px = (x: number, y: number, ch: number) => (x >= 0 && y >= 0 && x < w && y < h ? data[(y * w + x) * 3 + ch] : 0);
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const sx = ia * u + ib * v + ic;
      const sy = id * u + ie * v + if_;
      const x0 = Math.floor(sx), y0 = Math.floor(sy);
      const fx = sx - x0, fy = sy - y0;
      for (let ch = 0; ch < 3; ch++) {
        const top = px(x0, y0, ch) * (1 - fx) + px(x0 + 1, y0, ch) * fx;
        const bottom = px(x0, y0 + 1, ch) * (1 - fx) + px(x0 + 1, y0 + 1, ch) * fx;
        out[(v * width + u) * 3 + ch] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return { width, height, data: out };
}

export interface AlignOptions {
  size: number;
  template: readonly (readonly number[])[];
  /** Refuse faces whose eyes are closer than this many pixels (default 4). */
  minEyeDistance?: number;
}

/** The aligned crop of a face and the transform that produced it. */
export function alignFace(img: RgbImage, landmarks: readonly (readonly number[])[], o: AlignOptions): { crop: RgbImage; transform: Affine } {
  if (landmarks.length !== o.template.length) throw new ArgumentError(`expected ${o.template.length} landmarks, got ${landmarks.length}`);
  // A face that crosses the border is aligned all the same, the missing part filled with zeros, as
  // the reference protocols do: dropping it would drop the photo's subject when it is cut off.
  for (const [x, y] of landmarks) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw new InputValueError(`landmark (${x}, ${y}) is not a finite point`);
  }
  const eyes = Math.hypot(landmarks[1][0] - landmarks[0][0], landmarks[1][1] - landmarks[0][1]);
  if (!(eyes >= (o.minEyeDistance ?? 4))) throw new InputValueError(`face too small to align: eyes ${eyes.toFixed(1)} px apart`);
  const transform = similarityTransform(landmarks, o.template);
  return { crop: warpAffine(img, transform, o.size), transform };
}
