// JPEG decode timing: tsface's decoder, jpeg-js, and libjpeg-turbo's djpeg as the native anchor.
//   node --import tsx tools/bench/decode.ts FILE.jpg [...]
// run.ts uses `timeDecoders` for its decode-* cases.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { decodeJpeg } from '../../src/pipeline/jpeg/index.ts';

export interface DecodeTiming {
  decoder: 'tsface' | 'jpeg-js' | 'djpeg';
  ms: number;
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

export function djpegAvailable(): boolean {
  return spawnSync('djpeg', ['-version'], { stdio: 'ignore' }).error === undefined;
}

/**
 * djpeg's time is its whole process (start, read, decode, write PPM to a pipe), so it is an upper
 * bound on libjpeg-turbo's decode time; the process start is measured on a 1x1 file and removed.
 */
function djpegMs(file: string, runs: number, tiny: string): number {
  const run = (f: string) => () => { execFileSync('djpeg', ['-ppm', f], { maxBuffer: 1 << 30 }); };
  const whole = median(run(file), runs, 1);
  const start = median(run(tiny), runs, 1);
  return Math.max(0, whole - start);
}

export function timeDecoders(file: string, runs = 7, tinyJpeg?: string): DecodeTiming[] {
  const bytes = new Uint8Array(readFileSync(file));
  const out: DecodeTiming[] = [
    { decoder: 'tsface', ms: median(() => decodeJpeg(bytes), runs, 3) },
    { decoder: 'jpeg-js', ms: median(() => jpeg.decode(bytes, { formatAsRGBA: false, useTArray: true, maxMemoryUsageInMB: 4096 }), runs, 3) },
  ];
  if (tinyJpeg && djpegAvailable()) out.push({ decoder: 'djpeg', ms: djpegMs(file, runs, tinyJpeg) });
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const file of process.argv.slice(2)) {
    for (const t of timeDecoders(file)) console.log(`${file}  ${t.decoder.padEnd(8)} ${t.ms.toFixed(2).padStart(9)} ms`);
  }
}
