// The run's curves as one PNG beside the output: the loss of every step (grey) and each
// epoch's mean (blue) on the left; validation accuracy (blue) and TAR at FAR 1e-3 (orange) per
// epoch on the right, when the run validates. Plain pixel loops and the contact sheets' font.
import { encodePng } from '../collection/sheet.ts';
import { drawText, GLYPH_HEIGHT } from '../collection/font.ts';
import { writeFileAtomic } from '../io/writeFile.ts';
import type { RgbImage } from '../image/decode.ts';
import { ImageError } from '../errors.ts';
import type { EpochRecord } from './history.ts';

type Rgb = readonly [number, number, number];
const INK: Rgb = [30, 30, 30];
const GRID: Rgb = [225, 225, 225];
const GREY: Rgb = [170, 170, 170];
const BLUE: Rgb = [31, 100, 200];
const ORANGE: Rgb = [230, 120, 20];
const PANEL_W = 420;
const PANEL_H = 280;
const MARGIN = { left: 56, right: 16, top: 28, bottom: 34 };

interface Series {
  points: [number, number][];
  color: Rgb;
  dots?: boolean;
}

export function renderCurves(history: readonly EpochRecord[], title: string): RgbImage {
  const validated = history.some((h) => h.validation);
  const width = PANEL_W * (validated ? 2 : 1);
  const img: RgbImage = { width, height: PANEL_H + 20, data: new Uint8Array(width * (PANEL_H + 20) * 3).fill(255) };
  drawText(img, title, 8, 6, INK);
  const steps: [number, number][] = [];
  const means: [number, number][] = [];
  let at = 0;
  for (const h of history) {
    for (const l of h.stepLosses) steps.push([++at, l]);
    means.push([at, h.loss]);
  }
  panel(img, 0, 20, 'TRIPLET LOSS BY STEP', [{ points: steps, color: GREY }, { points: means, color: BLUE, dots: true }], 'STEP');
  if (validated) {
    const acc = history.filter((h) => h.validation).map((h): [number, number] => [h.epoch, h.validation!.accuracy * 100]);
    const tar = history.filter((h) => h.validation).map((h): [number, number] => [h.epoch, h.validation!.tarAtFar1e3 * 100]);
    panel(img, PANEL_W, 20, 'PERCENT: ACCURACY (BLUE), TAR AT FAR 1E-3 (ORANGE)', [{ points: acc, color: BLUE, dots: true }, { points: tar, color: ORANGE, dots: true }], 'EPOCH');
  }
  return img;
}

export function writeCurves(path: string, history: readonly EpochRecord[], title: string): void {
  writeFileAtomic(path, encodePng(renderCurves(history, title)), (reason) => new ImageError(reason, path));
}

function panel(img: RgbImage, x0: number, y0: number, label: string, series: readonly Series[], xLabel: string): void {
  const all = series.flatMap((s) => s.points);
  const left = x0 + MARGIN.left, right = x0 + PANEL_W - MARGIN.right;
  const top = y0 + MARGIN.top, bottom = y0 + PANEL_H - MARGIN.bottom;
  drawText(img, label, left, y0 + 8, INK);
  if (all.length === 0) return;
  let [xMin, xMax] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [yMin, yMax] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (xMax === xMin) { xMin -= 1; xMax += 1; }
  if (yMax === yMin) { yMin -= 1; yMax += 1; }
  const pad = (yMax - yMin) * 0.05;
  yMin -= pad; yMax += pad;
  const px = (x: number) => left + ((x - xMin) / (xMax - xMin)) * (right - left);
  const py = (y: number) => bottom - ((y - yMin) / (yMax - yMin)) * (bottom - top);
  for (let k = 0; k <= 4; k++) {
    const y = yMin + ((yMax - yMin) * k) / 4;
    line(img, left, py(y), right, py(y), GRID);
    drawText(img, formatTick(y, yMax - yMin), x0 + 4, Math.round(py(y)) - (GLYPH_HEIGHT >> 1), INK);
  }
  line(img, left, top, left, bottom, INK);
  line(img, left, bottom, right, bottom, INK);
  drawText(img, formatTick(xMin), left, bottom + 6, INK);
  drawText(img, `${formatTick(xMax)} ${xLabel}`, right - 6 * (formatTick(xMax).length + xLabel.length + 1), bottom + 6, INK);
  for (const s of series) {
    for (let i = 1; i < s.points.length; i++) line(img, px(s.points[i - 1][0]), py(s.points[i - 1][1]), px(s.points[i][0]), py(s.points[i][1]), s.color);
    if (s.dots) for (const [x, y] of s.points) dot(img, px(x), py(y), s.color);
  }
}

/** Integers as integers; other values with enough decimals to tell ticks `span` apart. */
function formatTick(v: number, span = Math.abs(v)): string {
  if (Number.isInteger(v)) return String(v);
  const digits = Math.max(0, Math.min(6, Math.ceil(-Math.log10(Math.max(span, 1e-12) / 4)) + 1));
  return v.toFixed(digits);
}

function set(img: RgbImage, x: number, y: number, c: Rgb): void {
  x = Math.round(x); y = Math.round(y);
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  img.data.set(c, (y * img.width + x) * 3);
}

function line(img: RgbImage, x1: number, y1: number, x2: number, y2: number, c: Rgb): void {
  const n = Math.max(1, Math.ceil(Math.max(Math.abs(x2 - x1), Math.abs(y2 - y1))));
  for (let i = 0; i <= n; i++) set(img, x1 + ((x2 - x1) * i) / n, y1 + ((y2 - y1) * i) / n, c);
}

function dot(img: RgbImage, x: number, y: number, c: Rgb): void {
  for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) if (dx * dx + dy * dy <= 5) set(img, x + dx, y + dy, c);
}
