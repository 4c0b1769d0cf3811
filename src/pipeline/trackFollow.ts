// What a followed frame looks at instead of the whole frame: a window around each face's last
// box for P-Net ('pyramid'), or a few squares around it for R-Net ('squares'); and how much a
// frame differs from the one before, to tell when following is not worth trusting.
import type { RgbImage } from '../image/rgbImage.ts';
import type { FaceBox } from './faceTracks.ts';
import type { PnetWindow } from './trackWindows.ts';

export interface Square {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/**
 * R-Net's inputs around one face: its last box made square about its centre (as the cascade
 * squares P-Net's boxes before R-Net), and the same square moved by `shift` of its side left,
 * right, up and down, so a face that moved that far between frames is still mostly inside one
 * of them. shift 0 gives the one square.
 */
export function followSquares(box: FaceBox, shift: number): Square[] {
  const [x1, y1, x2, y2] = box;
  const side = Math.max(x2 - x1, y2 - y1);
  const cx = (x1 + x2) / 2;
  const cy = (y1 + y2) / 2;
  const at = (dx: number, dy: number): Square => ({ x1: cx + dx - side / 2, y1: cy + dy - side / 2, x2: cx + dx + side / 2, y2: cy + dy + side / 2 });
  if (!(shift > 0)) return [at(0, 0)];
  const d = shift * side;
  return [at(0, 0), at(-d, 0), at(d, 0), at(0, -d), at(0, d)];
}

/** P-Net's window around one face: its last box widened by `margin` of its side, at the levels whose cells are `scales` times its side. */
export function followWindows(box: FaceBox, margin: number, scales: readonly [number, number]): PnetWindow {
  const [x1, y1, x2, y2] = box;
  const side = Math.max(x2 - x1, y2 - y1);
  const m = margin * side;
  return { x: x1 - m, y: y1 - m, width: x2 - x1 + 2 * m, height: y2 - y1 + 2 * m, sides: [scales[0] * side, scales[1] * side] };
}

/** Side of the grey thumbnail frames are compared on. */
const THUMB = 32;

/** Samples per thumbnail cell along each side. */
const SAMPLES = 4;

/**
 * A THUMB x THUMB grey thumbnail of the frame, each cell the mean of SAMPLES x SAMPLES pixels
 * spread over it: a few pixels of motion change it little, a cut or a camera swung round
 * changes it much; 16,384 reads whatever the frame's size.
 */
export function frameThumbnail(img: RgbImage): Float32Array {
  const out = new Float32Array(THUMB * THUMB);
  const n = THUMB * SAMPLES;
  const xs = Array.from({ length: n }, (_, k) => Math.min(img.width - 1, Math.floor(((k + 0.5) * img.width) / n)));
  for (let sy = 0; sy < n; sy++) {
    const y = Math.min(img.height - 1, Math.floor(((sy + 0.5) * img.height) / n));
    const row = ((sy / SAMPLES) | 0) * THUMB;
    for (let sx = 0; sx < n; sx++) {
      const p = (y * img.width + xs[sx]) * 3;
      out[row + ((sx / SAMPLES) | 0)] += (0.299 * img.data[p] + 0.587 * img.data[p + 1] + 0.114 * img.data[p + 2]) / (SAMPLES * SAMPLES);
    }
  }
  return out;
}

/** Mean absolute difference of two thumbnails, as a fraction of full scale (0: same, 1: black vs white). */
export function frameChange(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / (a.length * 255);
}
