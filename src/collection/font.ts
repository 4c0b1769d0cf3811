// A 5x7 bitmap font for contact-sheet labels: capitals, digits and the punctuation of file
// names. Lower case is drawn as capitals; any other character as a hollow box, so a label
// never silently loses a character. Each glyph is seven rows of five pixels, '#' on.
import type { RgbImage } from '../image/decode.ts';

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;
/** Horizontal advance: the glyph and one pixel of space. */
export const ADVANCE = GLYPH_WIDTH + 1;

const GLYPHS: Record<string, string> = {
  A: '.###./#...#/#...#/#####/#...#/#...#/#...#',
  B: '####./#...#/#...#/####./#...#/#...#/####.',
  C: '.###./#...#/#..../#..../#..../#...#/.###.',
  D: '####./#...#/#...#/#...#/#...#/#...#/####.',
  E: '#####/#..../#..../####./#..../#..../#####',
  F: '#####/#..../#..../####./#..../#..../#....',
  G: '.###./#...#/#..../#.###/#...#/#...#/.####',
  H: '#...#/#...#/#...#/#####/#...#/#...#/#...#',
  I: '.###./..#../..#../..#../..#../..#../.###.',
  J: '..###/...#./...#./...#./...#./#..#./.##..',
  K: '#...#/#..#./#.#../##.../#.#../#..#./#...#',
  L: '#..../#..../#..../#..../#..../#..../#####',
  M: '#...#/##.##/#.#.#/#.#.#/#...#/#...#/#...#',
  N: '#...#/#...#/##..#/#.#.#/#..##/#...#/#...#',
  O: '.###./#...#/#...#/#...#/#...#/#...#/.###.',
  P: '####./#...#/#...#/####./#..../#..../#....',
  Q: '.###./#...#/#...#/#...#/#.#.#/#..#./.##.#',
  R: '####./#...#/#...#/####./#.#../#..#./#...#',
  S: '.####/#..../#..../.###./....#/....#/####.',
  T: '#####/..#../..#../..#../..#../..#../..#..',
  U: '#...#/#...#/#...#/#...#/#...#/#...#/.###.',
  V: '#...#/#...#/#...#/#...#/#...#/.#.#./..#..',
  W: '#...#/#...#/#...#/#.#.#/#.#.#/#.#.#/.#.#.',
  X: '#...#/#...#/.#.#./..#../.#.#./#...#/#...#',
  Y: '#...#/#...#/.#.#./..#../..#../..#../..#..',
  Z: '#####/....#/...#./..#../.#.../#..../#####',
  0: '.###./#...#/#..##/#.#.#/##..#/#...#/.###.',
  1: '..#../.##../..#../..#../..#../..#../.###.',
  2: '.###./#...#/....#/...#./..#../.#.../#####',
  3: '####./....#/....#/.###./....#/....#/####.',
  4: '...#./..##./.#.#./#..#./#####/...#./...#.',
  5: '#####/#..../####./....#/....#/#...#/.###.',
  6: '..##./.#.../#..../####./#...#/#...#/.###.',
  7: '#####/....#/...#./..#../.#.../.#.../.#...',
  8: '.###./#...#/#...#/.###./#...#/#...#/.###.',
  9: '.###./#...#/#...#/.####/....#/...#./.##..',
  ' ': '...../...../...../...../...../...../.....',
  '.': '...../...../...../...../...../.##../.##..',
  ',': '...../...../...../...../.##../..#../.#...',
  '_': '...../...../...../...../...../...../#####',
  '-': '...../...../...../.###./...../...../.....',
  '+': '...../..#../..#../#####/..#../..#../.....',
  '(': '...#./..#../.#.../.#.../.#.../..#../...#.',
  ')': '.#.../..#../...#./...#./...#./..#../.#...',
  '#': '.#.#./.#.#./#####/.#.#./#####/.#.#./.#.#.',
  '/': '....#/....#/...#./..#../.#.../#..../#....',
  ':': '...../.##../.##../...../.##../.##../.....',
  '~': '...../...../.#..#/#.##./...../...../.....',
};

const UNKNOWN = '#####/#...#/#...#/#...#/#...#/#...#/#####';

function rows(ch: string): string[] {
  return (GLYPHS[ch] ?? GLYPHS[ch.toUpperCase()] ?? UNKNOWN).split('/');
}

/** Draws `text` with its top-left corner at (x, y), clipped to the image, `scale` pixels per font pixel. */
export function drawText(img: RgbImage, text: string, x: number, y: number, color: readonly [number, number, number], scale = 1): void {
  let left = x;
  for (const ch of text) {
    rows(ch).forEach((row, gy) => {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (row[gx] !== '#') continue;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) {
            const px = left + gx * scale + sx;
            const py = y + gy * scale + sy;
            if (px < 0 || py < 0 || px >= img.width || py >= img.height) continue;
            img.data.set(color, (py * img.width + px) * 3);
          }
        }
      }
    });
    left += ADVANCE * scale;
  }
}

/** The widest prefix of `text` that fits `width` pixels, with '~' marking a cut. */
export function fitText(text: string, width: number, scale = 1): string {
  const fits = Math.floor((width + scale) / (ADVANCE * scale));
  if (text.length <= fits) return text;
  return fits <= 1 ? text.slice(0, Math.max(0, fits)) : `${text.slice(0, fits - 1)}~`;
}
