// A long run: detect (and embed) the example photo N times on one runtime and print the resident
// memory every tenth of the way, to show it stays flat (kernels and buffers are reused).
//   node --import tsx tools/bench/soak.ts [N=1000] [--backend cpu|gpujs] [--gpujs-mode MODE] [--gpujs-threads] [--half]
// --half soaks on the example at 256x256 (same face, a quarter of the pixels): 1,000 images in reach of a slow mode.
//   node --import tsx tools/bench/soak.ts --peak [1,12,50] [--format png|jpeg] [--threads 1,2]
// --peak instead measures the peak resident memory of one detection per photo size, each in a
// fresh process (the example scaled up to N megapixels and saved as PNG), per megapixel, with the
// high-water mark after each stage (decode, P-Net, the end); --threads runs each size once per
// thread count (TSFACE_THREADS; default: the backend's default).
// --format jpeg saves it as JPEG instead (ImageMagick's `convert`, quality 90, 4:2:0 chroma as
// phone cameras write), the format users mostly feed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { FaceEmbedder } from '../../src/pipeline/embed.ts';
import { toRgbImage } from '../../src/image/decode.ts';
import { createRuntime, type RuntimeOptions } from '../../src/runtime.ts';
import { GpujsBackend } from '../../src/tensor/gpujs/backend.ts';

const args = process.argv.slice(2);
if (args.includes('--peak')) {
  const sizes = args[args.indexOf('--peak') + 1]?.split(',').map(Number).filter((n) => n > 0);
  const format = args.includes('--format') ? args[args.indexOf('--format') + 1] : 'png';
  if (format !== 'png' && format !== 'jpeg') throw new Error(`--format must be png or jpeg, got ${format}`);
  const threads = args.includes('--threads') ? args[args.indexOf('--threads') + 1].split(',').map(Number) : [undefined];
  if (!threads.every((t) => t === undefined || (Number.isInteger(t) && t >= 1))) throw new Error('--threads takes thread counts, e.g. 1,2');
  await peakPerMegapixel(sizes?.length ? sizes : [1, 12, 50], format, threads);
  process.exit(0);
}
const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 1000);
const flag = (k: string) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : undefined; };
const runtime = createRuntime({ backend: flag('--backend') as RuntimeOptions['backend'], gpujsMode: flag('--gpujs-mode') as RuntimeOptions['gpujsMode'], gpujsThreads: args.includes('--gpujs-threads') });
const embedder = new FaceEmbedder({ backend: runtime.backend });
const full = toRgbImage(fileURLToPath(new URL('../../examples/astronaut.jpg', import.meta.url)));
const base = args.includes('--half') ? halve(full) : full;

/** 2x2 box average: the same picture at half the width and height. */
function halve(img: { width: number; height: number; data: Uint8Array }) {
  const width = img.width >> 1, height = img.height >> 1;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const at = (yy: number, xx: number) => img.data[(yy * img.width + xx) * 3 + c];
        data[(y * width + x) * 3 + c] = (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1) + 2) >> 2;
      }
    }
  }
  return { width, height, data };
}
const mb = () => (process.memoryUsage().rss / 2 ** 20).toFixed(0);
console.log(`soak: ${n} images on ${JSON.stringify(runtime.report())}; rss at start ${mb()} MB`);
const t0 = performance.now();
for (let i = 1; i <= n; i++) {
  // Vary the crop so image sizes (and pyramid shapes) change from one image to the next.
  const cut = (i % 7) * (base === full ? 8 : 4);
  const img = { width: base.width - cut, height: base.height, data: new Uint8Array((base.width - cut) * base.height * 3) };
  for (let y = 0; y < base.height; y++) img.data.set(base.data.subarray(y * base.width * 3, (y * base.width + img.width) * 3), y * img.width * 3);
  const { faces } = await embedder.embed(img);
  if (faces.length !== 1) throw new Error(`image ${i}: ${faces.length} faces`);
  if (i % Math.max(1, Math.floor(n / 10)) === 0) {
    const compiles = runtime.backend instanceof GpujsBackend ? `, ${runtime.backend.compiles} kernels compiled, ${runtime.backend.planBuilds} plans built` : '';
    console.log(`  ${String(i).padStart(5)} images: rss ${mb()} MB, ${((performance.now() - t0) / i).toFixed(0)} ms per image${compiles}`);
  }
}
await runtime.dispose();
console.log(`done: ${runtime.report().backend}/${runtime.report().mode}${runtime.report().fallback ? ` FALLBACK ${runtime.report().fallback}` : ''}`);

/** Bilinear scale of the example to about `megapixels`, saved as a PNG (fast zlib level). */
function photoOf(megapixels: number, dir: string): string {
  const src = toRgbImage(fileURLToPath(new URL('../../examples/astronaut.jpg', import.meta.url)));
  const side = Math.round(Math.sqrt(megapixels * 1e6));
  const png = new PNG({ width: side, height: side });
  const s = src.width / side;
  for (let y = 0; y < side; y++) {
    const sy = Math.min(src.height - 1, y * s);
    const y0 = Math.floor(sy), y1 = Math.min(y0 + 1, src.height - 1), fy = sy - y0;
    for (let x = 0; x < side; x++) {
      const sx = Math.min(src.width - 1, x * s);
      const x0 = Math.floor(sx), x1 = Math.min(x0 + 1, src.width - 1), fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number) => src.data[(yy * src.width + xx) * 3 + c];
        png.data[(y * side + x) * 4 + c] = Math.round((p(y0, x0) * (1 - fx) + p(y0, x1) * fx) * (1 - fy) + (p(y1, x0) * (1 - fx) + p(y1, x1) * fx) * fy);
      }
      png.data[(y * side + x) * 4 + 3] = 255;
    }
  }
  const file = join(dir, `photo-${megapixels}mp.png`);
  writeFileSync(file, PNG.sync.write(png, { deflateLevel: 1, colorType: 2 }));
  return file;
}

/** The PNG re-encoded as a JPEG by ImageMagick (tsface has no encoder); the PNG is removed. */
function asJpeg(png: string): string {
  const file = png.replace(/\.png$/, '.jpg');
  execFileSync('convert', [png, '-sampling-factor', '4:2:0', '-quality', '90', file]);
  rmSync(png);
  return file;
}

/** What peakMemory.ts prints. */
interface PeakResult {
  width: number; height: number; faces: number; threads: number;
  baselineMb: number; afterDecodeMb: number; afterPnetMb: number; peakMb: number; bytesPerPixel: number;
  decodeS: number; detectS: number;
  firstScale: { scale: number; input: string; inputMb: number; layers: { layer: string; mb: number }[] };
}

async function peakPerMegapixel(sizes: number[], format: 'png' | 'jpeg', threads: (number | undefined)[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-peak-'));
  const how = format === 'png' ? 'PNG (pngjs, deflate level 1)' : 'JPEG (ImageMagick convert, quality 90, 4:2:0)';
  console.log(`peak resident memory of one detection (decode from ${how} + detect), each in a fresh process`);
  console.log('  (decode, P-Net: the high-water mark above the baseline when that stage ends, per pixel)');
  console.log('  MP    size        threads baseline  decode    P-Net     peak      per pixel   decode  detect');
  try {
    for (const mp of sizes) {
      const file = format === 'png' ? photoOf(mp, dir) : asJpeg(photoOf(mp, dir));
      let r: PeakResult | undefined;
      for (const t of threads) {
        const env = t === undefined ? process.env : { ...process.env, TSFACE_THREADS: String(t) };
        const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./peakMemory.ts', import.meta.url)), file], { encoding: 'utf8', maxBuffer: 1 << 20, env });
        const m: PeakResult = JSON.parse(out.trim().split('\n').pop()!);
        const perPixel = (at: number) => `${(((at - m.baselineMb) * 2 ** 20) / (m.width * m.height)).toFixed(1).padStart(4)} B/px`;
        console.log(`  ${String(mp).padEnd(5)} ${`${m.width}x${m.height}`.padEnd(12)} ${String(m.threads).padStart(3)}  ${m.baselineMb.toFixed(0).padStart(5)} MB  ${perPixel(m.afterDecodeMb)} ${perPixel(m.afterPnetMb)} ${m.peakMb.toFixed(0).padStart(5)} MB  ${m.bytesPerPixel.toFixed(1).padStart(5)} B/px  ${m.decodeS.toFixed(1).padStart(5)} s ${m.detectS.toFixed(1).padStart(6)} s  (${m.faces} face${m.faces === 1 ? '' : 's'})`);
        r = m;
      }
      const big = r!.firstScale.layers.filter((l) => l.mb >= 1).map((l) => `${l.layer} ${l.mb.toFixed(0)}`).join(', ');
      console.log(`        file ${(statSync(file).size / 2 ** 20).toFixed(1)} MB; first pyramid scale ${r!.firstScale.scale.toFixed(3)}: level ${r!.firstScale.input} (${r!.firstScale.inputMb.toFixed(0)} MB as float, read in tiles); P-Net outputs of a whole level (MB) ${big}`);
      rmSync(file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
