// JPEG decode timing: tsface's decoder, jpeg-js, and libjpeg-turbo's djpeg as the native anchor.
//   node --import tsx tools/bench/decode.ts FILE.jpg [...]
// run.ts takes its decode-* rows from `decodeRows`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { decodeJpeg } from '../../src/image/jpeg/index.ts';

export interface DecodeRow {
  case: string;
  backend: string;
  mode: string;
  threads: number;
  ms: number;
  gflops: null;
}

function median(fn: () => void, runs: number, warmup: number): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const hasLibjpeg = () => spawnSync('djpeg', ['-version'], { stdio: 'ignore' }).error === undefined && spawnSync('cjpeg', ['-version'], { stdio: 'ignore' }).error === undefined;

/**
 * djpeg's time is a whole process (start, read, decode, write the PPM to /dev/null, so that no
 * pipe into Node is timed); the same for an 8x8 file is subtracted, which leaves decode and
 * output: an upper bound on libjpeg-turbo's decode time.
 */
function djpegMs(file: string, tiny: string, runs: number): number {
  const run = (f: string) => () => { execFileSync('djpeg', ['-ppm', '-outfile', '/dev/null', f]); };
  return Math.max(0, median(run(file), runs, 1) - median(run(tiny), runs, 1));
}

export function timeDecoders(name: string, file: string, runs: number, tiny: string | null): DecodeRow[] {
  const bytes = new Uint8Array(readFileSync(file));
  const row = (backend: string, mode: string, ms: number): DecodeRow => ({ case: name, backend, mode, threads: 1, ms, gflops: null });
  const rows = [
    // backend 'cpu' marks tsface's own row for run.ts's ratios; the others are anchors.
    row('cpu', 'typescript (tsface jpeg)', median(() => decodeJpeg(bytes), runs, 3)),
    row('jpeg-js', 'typescript', median(() => jpeg.decode(bytes, { formatAsRGBA: false, useTArray: true, maxMemoryUsageInMB: 4096 }), runs, 3)),
  ];
  if (tiny) rows.push(row('djpeg', 'libjpeg-turbo, process start subtracted', djpegMs(file, tiny, runs)));
  return rows;
}

/**
 * decode-1200x630: the shared group photo (progressive 4:4:4). decode-1920x1080: a 1920x1080 crop
 * of a shared portrait, written by cjpeg with its defaults (baseline 4:2:0, quality 75).
 */
export function decodeRows(shared: string, wanted: (name: string) => boolean, runs: number): DecodeRow[] {
  const rows: DecodeRow[] = [];
  const group = `${shared}images/multiface.jpg`;
  const portrait = `${shared}images/celebs/shea_whigham.jpg`;
  if (!existsSync(group) || !existsSync(portrait)) {
    console.warn('!!! ../shared/images is absent: SKIPPING decode-1200x630 and decode-1920x1080 !!!');
    return rows;
  }
  const libjpeg = hasLibjpeg();
  if (!libjpeg) console.warn('!!! cjpeg/djpeg absent: SKIPPING decode-1920x1080 and the djpeg anchor !!!');
  const dir = mkdtempSync(join(tmpdir(), 'tsface-bench-jpeg-'));
  try {
    let tiny: string | null = null;
    if (libjpeg) {
      tiny = join(dir, 'tiny.jpg');
      writeFileSync(join(dir, 'tiny.ppm'), Buffer.concat([Buffer.from('P6\n8 8\n255\n'), Buffer.alloc(192, 128)]));
      execFileSync('cjpeg', ['-outfile', tiny, join(dir, 'tiny.ppm')]);
    }
    if (wanted('decode-1200x630')) rows.push(...timeDecoders('decode-1200x630', group, runs, tiny));
    if (libjpeg && wanted('decode-1920x1080')) {
      const big = decodeJpeg(new Uint8Array(readFileSync(portrait)));
      const header = Buffer.from('P6\n1920 1080\n255\n');
      const ppm = Buffer.alloc(header.length + 1920 * 1080 * 3);
      header.copy(ppm);
      for (let y = 0; y < 1080; y++) ppm.set(big.data.subarray((y * big.width + 64) * 3, (y * big.width + 64 + 1920) * 3), header.length + y * 1920 * 3);
      writeFileSync(join(dir, 'crop.ppm'), ppm);
      const file = join(dir, 'crop.jpg');
      execFileSync('cjpeg', ['-outfile', file, join(dir, 'crop.ppm')]);
      rows.push(...timeDecoders('decode-1920x1080', file, runs, tiny));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = process.argv.slice(2);
  for (const file of files) {
    for (const r of timeDecoders(file, file, 9, null)) console.log(`${file}  ${r.backend.padEnd(8)} ${r.ms.toFixed(2).padStart(9)} ms`);
  }
}
