// A PNG corpus written by ImageMagick (every colour type, bit depth and both interlace
// methods, adaptive row filters) and the same files' pixels as PIL's convert('RGB') reads
// them: the independent references tsface's PNG decoder is compared with.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CorpusFile {
  name: string;
  path: string;
  bytes: Uint8Array;
  colorType: number;
  bitDepth: number;
  interlaced: boolean;
  /** PIL's Image.open(path).convert('RGB') pixels. */
  pil: Uint8Array;
}

const PYTHON = '/usr/bin/python3';

/** Why the corpus cannot be built here (tool missing), or false. */
export function corpusSkip(): string | false {
  for (const [tool, args] of [['convert', ['-version']], [PYTHON, ['-c', 'import PIL, numpy']]] as const) {
    try {
      execFileSync(tool, args, { stdio: 'ignore' });
    } catch {
      const msg = `${tool} with ${args.join(' ')} is unavailable: SKIPPING the PNG reference comparison`;
      console.warn(`\n!!! ${msg} !!!\n`);
      return msg;
    }
  }
  return false;
}

/** [colour type, depth, ImageMagick arguments placed before the output name]. */
function variants(): [number, number, string[]][] {
  const grey = ['-colorspace', 'Gray'];
  const out: [number, number, string[]][] = [];
  for (const d of [1, 2, 4, 8, 16]) out.push([0, d, [...grey, '-define', 'png:color-type=0', '-define', `png:bit-depth=${d}`]]);
  for (const d of [8, 16]) out.push([2, d, ['-define', 'png:color-type=2', '-define', `png:bit-depth=${d}`]]);
  for (const d of [1, 2, 4, 8]) out.push([3, d, ['-colors', String(Math.min(2 ** d, 200)), '-define', `png:bit-depth=${d}`, 'PNG8:']]);
  const halfAlpha = ['-alpha', 'set', '-channel', 'A', '-evaluate', 'set', '60%', '+channel'];
  const rampAlpha = ['-alpha', 'set', '-channel', 'A', '-fx', 'i/w', '+channel'];
  for (const d of [8, 16]) out.push([4, d, [...grey, ...halfAlpha, '-define', 'png:color-type=4', '-define', `png:bit-depth=${d}`]]);
  for (const d of [8, 16]) out.push([6, d, [...rampAlpha, '-define', 'png:color-type=6', '-define', `png:bit-depth=${d}`]]);
  return out;
}

/**
 * Writes the corpus into a fresh temporary folder. Sources: seeded noise (odd sizes, so the
 * interlace passes and sub-byte rows have ragged ends) and a smooth gradient at 16 bits, which
 * gives the 16-bit files low bytes that differ from their high bytes.
 */
let built: CorpusFile[] | undefined;

/** The corpus, built once per process (ImageMagick takes a few seconds for it). */
export function pngCorpus(): CorpusFile[] {
  built ??= buildPngCorpus();
  return built;
}

function buildPngCorpus(): CorpusFile[] {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-png-'));
  const sources = [
    ['noise', ['-size', '37x23', 'xc:', '-seed', '5', '+noise', 'Random']],
    ['gradient', ['-size', '13x41', '-depth', '16', 'gradient:#0000ff00ffff-#ffff00000123']],
    // Dark 16-bit greys (under 256): PIL's clipping and a high-byte reduction differ here.
    ['dark', ['-size', '9x9', '-depth', '16', 'gradient:#00000000002a-#00ff00100000']],
  ] as const;
  const files: Omit<CorpusFile, 'bytes' | 'pil'>[] = [];
  for (const [srcName, srcArgs] of sources) {
    for (const [colorType, bitDepth, args] of variants()) {
      if (srcName === 'dark' && (bitDepth !== 16 || colorType === 2 || colorType === 6)) continue;
      for (const interlace of ['None', 'PNG']) {
        const name = `${srcName}-${colorType}-${bitDepth}-${interlace}.png`;
        const path = join(dir, name);
        const prefix = args[args.length - 1] === 'PNG8:' ? 'PNG8:' : '';
        const opts = prefix ? args.slice(0, -1) : args;
        execFileSync('convert', [...srcArgs, ...opts, '-interlace', interlace, '-define', 'png:compression-filter=5', prefix + path], { stdio: 'ignore' });
        files.push({ name, path, colorType, bitDepth, interlaced: interlace === 'PNG' });
      }
    }
  }
  const list = join(dir, 'list.txt');
  writeFileSync(list, files.map((f) => f.path).join('\n'));
  execFileSync(PYTHON, ['-c', [
    'import sys',
    'from PIL import Image',
    'for p in open(sys.argv[1]).read().split("\\n"):',
    '    open(p + ".rgb", "wb").write(Image.open(p).convert("RGB").tobytes())',
  ].join('\n'), list]);
  return files.map((f) => {
    const bytes = readFileSync(f.path);
    // What ImageMagick actually wrote (it may pick another depth than asked): the IHDR fields.
    return { ...f, bytes, bitDepth: bytes[24], colorType: bytes[25], interlaced: bytes[28] === 1, pil: readFileSync(`${f.path}.rgb`) };
  });
}
