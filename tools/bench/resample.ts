// The integral image and the area resizes a detection reads from it (resample.ts): the
// WebAssembly kernels (simdIntegral.ts) against the TypeScript loops, in turns in one process, on
// a 640x480 frame of ../shared/images/multiface.jpg: the integral (memories reused, as a detector
// reuses them), a P-Net level of 384x288 cells, and 360 crops to 24x24.
//   npm run bench:resample [-- --runs N]
import { toRgbImage } from '../../src/image/decode.ts';
import { areaResizeNormalized, withIntegral, type RgbPixels } from '../../src/tensor/cpu/resample.ts';
import { sharedPath, sharedSkip } from '../../test/helpers/shared.ts';

if (sharedSkip('images/multiface.jpg')) process.exit(0);
const i = process.argv.indexOf('--runs');
const runs = i > 0 ? Number(process.argv[i + 1]) : 40;
const photo = toRgbImage(sharedPath('images/multiface.jpg'));
const W = 640, H = 480;
const data = new Uint8Array(W * H * 3);
for (let y = 0; y < H; y++) data.set(photo.data.subarray(y * photo.width * 3, (y * photo.width + W) * 3), y * W * 3);
const frame: RgbPixels = { width: W, height: H, data };
const whole = { x: 0, y: 0, width: W, height: H };
const crops = Array.from({ length: 360 }, (_, k) => ({ x: (k * 37) % 500, y: (k * 53) % 380, width: 40 + (k % 60), height: 40 + (k % 60) }));
const level = new Float32Array(3 * 384 * 288);
const cropOut = new Float32Array(360 * 3 * 24 * 24);

/** One round on one path: ms for the integral, the level, the crops. */
function round(kernels: boolean): [number, number, number] {
  const t0 = performance.now();
  const img = withIntegral(frame, kernels);
  const t1 = performance.now();
  areaResizeNormalized(img, whole, 288, 384, level);
  const t2 = performance.now();
  crops.forEach((r, k) => areaResizeNormalized(img, r, 24, 24, cropOut, k * 3 * 576));
  const t3 = performance.now();
  img.integralImage?.dispose();
  return [t1 - t0, t2 - t1, t3 - t2];
}

const times: [number, number, number][][] = [[], []];
for (let r = 0; r < runs + 10; r++) {
  for (const k of r % 2 ? [0, 1] : [1, 0]) {
    const t = round(k === 0);
    if (r >= 10) times[k].push(t);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const cells = [1, 384 * 288, 360 * 576];
console.log(`integral image and area resizes, 640x480, median of ${runs} rounds in turns`);
console.log('path       | integral ms | level ms (ns/cell) | 360 crops ms (ns/cell)');
for (const [k, name] of [[0, 'kernels'], [1, 'typescript']] as const) {
  const [a, b, c] = [0, 1, 2].map((j) => median(times[k].map((t) => t[j])));
  console.log(`${name.padEnd(10)} | ${a.toFixed(2)} | ${b.toFixed(2)} (${((b * 1e6) / cells[1]).toFixed(1)}) | ${c.toFixed(2)} (${((c * 1e6) / cells[2]).toFixed(1)})`);
}
