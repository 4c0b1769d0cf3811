// Drawing detections on a photo: boxes, landmarks and scores, in plain pixel loops (no canvas).
import { writeFileAtomic } from '../io/writeFile.ts';
import { ImageError } from '../errors.ts';
import { PNG } from 'pngjs';
import type { RgbImage } from './rgbImage.ts';

type Rgb = readonly [number, number, number];

// 3x5 digits and '.', one row of 3 bits per entry, enough to print scores.
const GLYPHS: Record<string, number[]> = {
  '0': [7, 5, 5, 5, 7], '1': [2, 6, 2, 2, 7], '2': [7, 1, 7, 4, 7], '3': [7, 1, 7, 1, 7], '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7], '6': [7, 4, 7, 5, 7], '7': [7, 1, 1, 1, 1], '8': [7, 5, 7, 5, 7], '9': [7, 5, 7, 1, 7], '.': [0, 0, 0, 0, 2],
};

export class Canvas {
  readonly data: Uint8Array;
  constructor(readonly width: number, readonly height: number, rgb?: Uint8Array) {
    this.data = rgb ? Uint8Array.from(rgb) : new Uint8Array(width * height * 3);
  }

  static of(img: RgbImage): Canvas {
    return new Canvas(img.width, img.height, img.data);
  }

  set(x: number, y: number, c: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 3;
    this.data[i] = c[0]; this.data[i + 1] = c[1]; this.data[i + 2] = c[2];
  }

  rect(x1: number, y1: number, x2: number, y2: number, c: Rgb, thickness = 2): void {
    for (let t = 0; t < thickness; t++) {
      for (let x = Math.round(x1); x <= Math.round(x2); x++) { this.set(x, y1 + t, c); this.set(x, y2 - t, c); }
      for (let y = Math.round(y1); y <= Math.round(y2); y++) { this.set(x1 + t, y, c); this.set(x2 - t, y, c); }
    }
  }

  dot(x: number, y: number, r: number, c: Rgb): void {
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) if (dx * dx + dy * dy <= r * r) this.set(x + dx, y + dy, c);
  }

  text(x: number, y: number, s: string, c: Rgb, scale = 2): void {
    let cx = x;
    for (const ch of s) {
      const g = GLYPHS[ch];
      if (g) for (let row = 0; row < 5; row++) for (let col = 0; col < 3; col++) {
        if (g[row] & (4 >> col)) for (let sy = 0; sy < scale; sy++) for (let sx = 0; sx < scale; sx++) this.set(cx + col * scale + sx, y + row * scale + sy, c);
      }
      cx += 4 * scale;
    }
  }

  /** The canvas as PNG bytes (RGBA, opaque). */
  toPng(): Uint8Array {
    const png = new PNG({ width: this.width, height: this.height });
    for (let i = 0, j = 0; i < this.data.length; i += 3, j += 4) {
      png.data[j] = this.data[i]; png.data[j + 1] = this.data[i + 1]; png.data[j + 2] = this.data[i + 2]; png.data[j + 3] = 255;
    }
    return PNG.sync.write(png);
  }

  /** Writes the PNG atomically (temporary file, then rename): a failure leaves no partial file. */
  savePng(path: string): void {
    writeFileAtomic(path, this.toPng(), (reason) => new ImageError(reason, path));
  }
}

const BOX: Rgb = [0, 255, 0];
const MARK: Rgb = [255, 40, 40];
const TEXT: Rgb = [255, 255, 0];

/** What drawing needs of a detection (a pipeline Face is one); structural, so this floor knows no detector. */
export interface DrawnFace {
  box: readonly [number, number, number, number] | readonly number[];
  landmarks: readonly (readonly [number, number])[];
  score: number;
}

export function drawFaces(img: RgbImage, faces: readonly DrawnFace[]): Canvas {
  const canvas = Canvas.of(img);
  const thickness = Math.max(1, Math.round(Math.min(img.width, img.height) / 300));
  for (const f of faces) {
    const [x1, y1, x2, y2] = f.box;
    canvas.rect(x1, y1, x2, y2, BOX, thickness);
    for (const [x, y] of f.landmarks) canvas.dot(x, y, thickness + 1, MARK);
    canvas.text(x1 + thickness + 1, y1 + thickness + 1, f.score.toFixed(3), TEXT, thickness + 1);
  }
  return canvas;
}
