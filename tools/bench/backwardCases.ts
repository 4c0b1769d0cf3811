// Bench rows for conv backward on MobileFaceNet's and nn4.small2's training shapes (batch 32):
// the forward conv, dx and dW of the same conv timed in one run, 1 and 2 threads, the default
// SIMD mode (the TypeScript reference takes minutes here and is left out).
import { CpuBackend } from '../../src/tensor/cpu/backend.ts';
import type { Conv2dOptions, Padding } from '../../src/tensor/geometry.ts';
import { random } from './random.ts';
import { median } from './timing.ts';

interface BenchRow { case: string; backend: string; mode: string; threads: number; ms: number; gflops: number | null }

/** [name, input NCHW, cOut, kernel, stride, padding, groups] */
const shapes: [string, number[], number, number, number, number | Padding, number][] = [
  ['mfn-conv1-3x3s2-3-64-112', [32, 3, 112, 112], 64, 3, 2, [0, 1, 0, 1], 1],
  ['mfn-expand-1x1-64-128-28', [32, 64, 28, 28], 128, 1, 1, 0, 1],
  ['mfn-project-1x1-128-64-28', [32, 128, 28, 28], 64, 1, 1, 0, 1],
  ['mfn-dw-3x3-128-28', [32, 128, 28, 28], 128, 3, 1, 1, 128],
  ['mfn-dw-3x3s2-128-56', [32, 128, 56, 56], 128, 3, 2, [0, 1, 0, 1], 128],
  ['nn4-stem-7x7s2-3-64-96', [32, 3, 96, 96], 64, 7, 2, 3, 1],
  ['nn4-conv3x3-64-192-24', [32, 64, 24, 24], 192, 3, 1, 1, 1],
  ['nn4-3a-5x5-16-32-12', [32, 16, 12, 12], 32, 5, 1, 2, 1],
  ['nn4-3b-1x1-256-96-12', [32, 256, 12, 12], 96, 1, 1, 0, 1],
];

export async function backwardConvCases(record: (row: BenchRow, extra?: string) => void, wanted: (name: string) => boolean, runs: number): Promise<void> {
  for (const [name, inShape, cOut, k, stride, padding, groups] of shapes) {
    const caseName = `backward-${name}`;
    if (!wanted(caseName)) continue;
    const x = random(inShape, 1);
    const w = random([cOut, inShape[1] / groups, k, k], 2);
    const options: Conv2dOptions = { stride, padding, groups };
    for (const threads of [1, 2]) {
      const backend = new CpuBackend({ threads });
      const y = await backend.conv2d(x, w, null, options);
      const dy = random(y.shape, 3);
      const flops = (2 * y.size * (inShape[1] / groups) * k * k);
      const mode = backend.describe().mode;
      // Outputs go back to the backend's pool, as in a training step.
      const forward = await median(async () => backend.release(await backend.conv2d(x, w, null, options)), runs);
      const dx = await median(async () => backend.release(await backend.conv2dBackwardInput(dy, w, x.shape, options)), runs);
      const dw = await median(async () => backend.release(await backend.conv2dBackwardWeight(x, dy, w.shape, options)), runs);
      record({ case: `${caseName}/forward`, backend: 'cpu', mode, threads, ms: forward, gflops: flops / forward / 1e6 }, `(${(flops / 1e6).toFixed(0)} MFLOP)`);
      record({ case: `${caseName}/dx`, backend: 'cpu', mode, threads, ms: dx, gflops: flops / dx / 1e6 }, `x${(dx / forward).toFixed(2)} forward`);
      record({ case: `${caseName}/dW`, backend: 'cpu', mode, threads, ms: dw, gflops: flops / dw / 1e6 }, `x${(dw / forward).toFixed(2)} forward`);
      await backend.dispose();
    }
  }
}
