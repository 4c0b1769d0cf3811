// Pictures for learners: feature maps as grids of channel images, P-Net's face-probability
// heat map over the photo, and the candidates each cascade stage keeps.
import { Canvas } from '../image/draw.ts';
import type { RgbImage } from '../image/decode.ts';
import type { Box } from '../pipeline/nms.ts';
import type { Tensor } from '../tensor/tensor.ts';

// A perceptual dark-blue -> teal -> yellow scale (5 stops, linearly interpolated).
const STOPS: [number, number, number][] = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

export function colour(v: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  return [0, 1, 2].map((c) => Math.round(STOPS[i][c] * (1 - f) + STOPS[i + 1][c] * f)) as [number, number, number];
}

/**
 * The channels of one batch item of an NCHW tensor as a grid of tiles, each normalised to its
 * own min..max, scaled up so a tile is at least 48 pixels, with a 2-pixel gap; a colour bar
 * underneath shows the scale (left: the channel's min, right: its max).
 */
export function featureGrid(t: Tensor, item = 0): Canvas {
  const [, c, h, w] = t.rank === 4 ? t.shape : [1, t.shape[1], 1, 1];
  const cols = Math.ceil(Math.sqrt(c));
  const rows = Math.ceil(c / cols);
  const zoom = Math.max(1, Math.ceil(48 / Math.max(h, w)));
  const gap = 2;
  const tw = w * zoom + gap;
  const th = h * zoom + gap;
  const bar = 12;
  const canvas = new Canvas(cols * tw + gap, rows * th + gap + bar + gap);
  canvas.data.fill(255);
  const plane = h * w;
  for (let ch = 0; ch < c; ch++) {
    const base = (item * c + ch) * plane;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < plane; i++) { lo = Math.min(lo, t.data[base + i]); hi = Math.max(hi, t.data[base + i]); }
    const span = hi - lo || 1;
    const ox = gap + (ch % cols) * tw;
    const oy = gap + Math.floor(ch / cols) * th;
    for (let y = 0; y < h * zoom; y++) for (let x = 0; x < w * zoom; x++) {
      canvas.set(ox + x, oy + y, colour((t.data[base + Math.floor(y / zoom) * w + Math.floor(x / zoom)] - lo) / span));
    }
  }
  const y0 = rows * th + gap;
  for (let x = 0; x < canvas.width; x++) for (let y = 0; y < bar; y++) canvas.set(x, y0 + y, colour(x / (canvas.width - 1)));
  return canvas;
}

/** P-Net's face probability at one scale, each cell painted over the 12x12 window it sees. */
export function probabilityHeatmap(img: RgbImage, map: { scale: number; height: number; width: number; data: Float32Array }): Canvas {
  const canvas = Canvas.of(img);
  const heat = new Float32Array(img.width * img.height);
  for (let cy = 0; cy < map.height; cy++) for (let cx = 0; cx < map.width; cx++) {
    const p = map.data[cy * map.width + cx];
    const x0 = Math.floor((2 * cx) / map.scale), y0 = Math.floor((2 * cy) / map.scale);
    const x1 = Math.min(img.width, Math.ceil((2 * cx + 12) / map.scale)), y1 = Math.min(img.height, Math.ceil((2 * cy + 12) / map.scale));
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) heat[y * img.width + x] = Math.max(heat[y * img.width + x], p);
  }
  for (let i = 0; i < heat.length; i++) {
    const [r, g, b] = colour(heat[i]);
    const a = 0.6;
    canvas.data[3 * i] = Math.round(canvas.data[3 * i] * (1 - a) + r * a);
    canvas.data[3 * i + 1] = Math.round(canvas.data[3 * i + 1] * (1 - a) + g * a);
    canvas.data[3 * i + 2] = Math.round(canvas.data[3 * i + 2] * (1 - a) + b * a);
  }
  return canvas;
}

/** Candidate boxes of one cascade stage on the photo, brighter for higher scores. */
export function stageBoxes(img: RgbImage, boxes: readonly Box[]): Canvas {
  const canvas = Canvas.of(img);
  for (const b of [...boxes].sort((a, c) => a.score - c.score)) {
    canvas.rect(b.x1, b.y1, b.x2, b.y2, colour(b.score), 1);
  }
  return canvas;
}
