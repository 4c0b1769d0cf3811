// A long run: detect (and embed) the example photo N times on one runtime and print the resident
// memory every tenth of the way, to show it stays flat (kernels and buffers are reused).
//   node --import tsx tools/bench/soak.ts [N=1000] [--backend cpu|gpujs] [--gpujs-mode MODE] [--gpujs-threads] [--half]
// --half soaks on the example at 256x256 (same face, a quarter of the pixels): 1,000 images in reach of a slow mode.
import { fileURLToPath } from 'node:url';
import { FaceEmbedder } from '../../src/pipeline/embed.ts';
import { toRgbImage } from '../../src/pipeline/image.ts';
import { createRuntime, type RuntimeOptions } from '../../src/runtime.ts';
import { GpujsBackend } from '../../src/tensor/gpujs/backend.ts';

const args = process.argv.slice(2);
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
