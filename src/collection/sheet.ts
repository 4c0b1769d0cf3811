// Contact sheets: per cluster, the aligned crops of its faces in a grid, each labelled with its
// image's name, so a person can check a grouping by eye.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PNG } from 'pngjs';
import { alignFace, TEMPLATE_112 } from '../pipeline/align.ts';
import { toRgbImage, type RgbImage } from '../image/decode.ts';
import { TsfaceError } from '../errors.ts';
import { ADVANCE, drawText, fitText, GLYPH_HEIGHT } from './font.ts';

export interface SheetFace {
  image: string;
  landmarks: readonly (readonly number[])[];
}

const CROP = 112;
const PAD = 4;
const CELL_W = CROP + 2 * PAD;
const LABEL_LINES = 2;
const LINE_H = GLYPH_HEIGHT + 3;
const CELL_H = CROP + PAD + LABEL_LINES * LINE_H + PAD;
const HEADER_H = 2 * PAD + GLYPH_HEIGHT * 2;
/** A sheet shows at most this many faces (and says how many it left out). */
export const SHEET_MAX_FACES = 200;
const BACKGROUND = 255;
const INK: [number, number, number] = [20, 20, 20];
const MISSING: [number, number, number] = [200, 40, 40];

function blank(width: number, height: number): RgbImage {
  return { width, height, data: new Uint8Array(width * height * 3).fill(BACKGROUND) };
}

function paste(dst: RgbImage, src: RgbImage, x: number, y: number): void {
  for (let row = 0; row < src.height; row++) {
    dst.data.set(src.data.subarray(row * src.width * 3, (row + 1) * src.width * 3), ((y + row) * dst.width + x) * 3);
  }
}

/** The file name without its extension, over up to two lines, cut with '~' if longer. */
function labelLines(image: string): string[] {
  const name = basename(image).replace(/\.(jpe?g|png)$/i, '');
  const perLine = Math.floor((CELL_W - PAD + 1) / ADVANCE);
  const lines: string[] = [];
  for (let at = 0; at < name.length && lines.length < LABEL_LINES; at += perLine) lines.push(name.slice(at, at + perLine));
  if (name.length > perLine * LABEL_LINES) lines[LABEL_LINES - 1] = fitText(name.slice(perLine * (LABEL_LINES - 1)), CELL_W - PAD);
  return lines;
}

/** Aligned crops of the faces, decoding each image once; null where the image or face cannot be read now. */
function crops(faces: readonly SheetFace[]): (RgbImage | null)[] {
  const out: (RgbImage | null)[] = new Array(faces.length).fill(null);
  const byImage = new Map<string, number[]>();
  faces.forEach((f, i) => byImage.set(f.image, [...(byImage.get(f.image) ?? []), i]));
  for (const [image, members] of byImage) {
    let rgb: RgbImage;
    try {
      rgb = toRgbImage(image);
    } catch (e) {
      if (e instanceof TsfaceError) continue;
      throw e;
    }
    for (const i of members) {
      try {
        out[i] = alignFace(rgb, faces[i].landmarks, { size: CROP, template: TEMPLATE_112 }).crop;
      } catch (e) {
        if (!(e instanceof TsfaceError)) throw e;
      }
    }
  }
  return out;
}

export function renderSheet(title: string, faces: readonly SheetFace[]): RgbImage {
  const shown = faces.slice(0, SHEET_MAX_FACES);
  const columns = Math.max(1, Math.min(8, Math.ceil(Math.sqrt(shown.length))));
  const rows = Math.max(1, Math.ceil(shown.length / columns));
  const sheet = blank(Math.max(columns * CELL_W, 2 * PAD + ADVANCE * 2 * title.length), HEADER_H + rows * CELL_H);
  const more = faces.length > shown.length ? ` (+${faces.length - shown.length} MORE)` : '';
  drawText(sheet, `${title}${more}`, PAD, PAD, INK, 2);
  crops(shown).forEach((crop, i) => {
    const x = (i % columns) * CELL_W + PAD;
    const y = HEADER_H + Math.floor(i / columns) * CELL_H;
    if (crop) paste(sheet, crop, x, y);
    else drawText(sheet, 'UNREADABLE', x + 4, y + CROP / 2, MISSING);
    labelLines(shown[i].image).forEach((text, line) => drawText(sheet, text, x, y + CROP + PAD + line * LINE_H, INK));
  });
  return sheet;
}

export function encodePng(img: RgbImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  for (let p = 0, q = 0; p < img.data.length; p += 3, q += 4) {
    png.data[q] = img.data[p]; png.data[q + 1] = img.data[p + 1]; png.data[q + 2] = img.data[p + 2]; png.data[q + 3] = 255;
  }
  return PNG.sync.write(png);
}

/** Writes `name`.png in `dir` through a temporary file, so no half-written sheet is left behind. */
export function writeSheet(dir: string, name: string, title: string, faces: readonly SheetFace[]): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.png`);
  const tmp = `${file}.partial-${process.pid}`;
  writeFileSync(tmp, encodePng(renderSheet(title, faces)));
  renameSync(tmp, file);
  return file;
}
