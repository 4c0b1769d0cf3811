// Where a net's time goes: runs one bench case op by op on a CPU backend and prints the time
// spent in each backend op (summed per op, and the slowest calls with their shapes).
//   npm run bench:profile -- CASE [--threads N] [--no-simd] [--no-winograd] [--fma] [--runs N] [--warmup N] [--top N]
// CASE: pnet-480x640, rnet-b256, onet-b64, nn4small2-b1, nn4small2-b32, mobilefacenet-b1, mobilefacenet-b32
import type { Backend } from '../../src/tensor/backend.ts';
import { CpuBackend } from '../../src/tensor/cpu/backend.ts';
import { windowGeometry, type Conv2dOptions } from '../../src/tensor/geometry.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { netCases } from './netCases.ts';
import { random } from './random.ts';

const args = process.argv.slice(2);
const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const name = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a)) ?? 'pnet-480x640';
if (!netCases[name]) {
  console.error(`unknown case '${name}'; one of ${Object.keys(netCases).join(', ')}`);
  process.exit(2);
}
const [net, shape] = netCases[name]();
const backend = new CpuBackend({
  threads: Number(flag('--threads') ?? 1), simd: !args.includes('--no-simd'),
  winograd: !args.includes('--no-winograd'), fma: args.includes('--fma'),
});
const top = Number(flag('--top') ?? 8);
const runs = Number(flag('--runs') ?? 3);
const warmup = Number(flag('--warmup') ?? 5);

// Every op call is timed through a wrapper; `release` stays synchronous and untimed. Nets run
// op by op: the wrapper hides runGraph (whole passes on workers), which would time as one call.
const calls = new Map<string, number>();
// Multiply-adds of each conv and dense call (x2 for FLOPs), summed like the times.
const macs = new Map<string, number>();
const timed = new Proxy(backend, {
  get(target, prop) {
    if (prop === 'runGraph') return undefined;
    const value = Reflect.get(target, prop, target);
    if (typeof value !== 'function' || prop === 'release' || prop === 'describe') return typeof value === 'function' ? value.bind(target) : value;
    return async (...a: unknown[]) => {
      const t0 = performance.now();
      const result = await value.apply(target, a);
      const x = a[0] as Tensor | undefined;
      const w = a[1] as Tensor | undefined;
      // A conv that pools its output (Conv2dOptions.maxPool) includes the pooling's time.
      const pooled = prop === 'conv2d' && (a[3] as Conv2dOptions | undefined)?.maxPool ? '+maxPool' : '';
      const key = `${String(prop)}${pooled} ${x?.shape?.join('x') ?? ''}${w instanceof Tensor ? ` w ${w.shape.join('x')}` : ''}`;
      calls.set(key, (calls.get(key) ?? 0) + performance.now() - t0);
      if ((prop === 'conv2d' || prop === 'dense') && result instanceof Tensor && w instanceof Tensor) {
        // conv: every output value sums cIn/groups x kH x kW products (the weight's last three dims).
        const perOutput = prop === 'dense' ? w.shape[w.shape.length - 1] : w.shape.slice(1).reduce((a, b) => a * b, 1);
        macs.set(key, (macs.get(key) ?? 0) + convOutputs(prop, x!, w, a[3] as Conv2dOptions | undefined, result) * perOutput);
      }
      return result;
    };
  },
}) as Backend;

/** Output values of the conv itself: a conv that pools its output (Conv2dOptions.maxPool) returns fewer. */
function convOutputs(prop: string, x: Tensor, w: Tensor, options: Conv2dOptions | undefined, result: Tensor): number {
  if (prop !== 'conv2d' || !options?.maxPool) return result.size;
  const g = windowGeometry('conv2d', x.shape, [w.shape[2], w.shape[3]], options.stride, options.padding, false);
  return x.shape[0] * w.shape[0] * g.outH * g.outW;
}

const x = random(shape, 7);
// V8 first runs WebAssembly from its baseline compiler and swaps in optimised code a few calls
// later, in the background: a single warm-up pass still times some of the baseline code.
for (let i = 0; i < warmup; i++) await net.forward(timed, x);
calls.clear();
macs.clear();
const t0 = performance.now();
for (let i = 0; i < runs; i++) await net.forward(timed, x);
const total = (performance.now() - t0) / runs;
const perOp = new Map<string, number>();
for (const [key, ms] of calls) perOp.set(key.split(' ')[0], (perOp.get(key.split(' ')[0]) ?? 0) + ms / runs);
console.log(`${name} on ${JSON.stringify(backend.describe())}: ${total.toFixed(1)} ms per pass (op by op, mean of ${runs})`);
for (const [op, ms] of [...perOp].sort((a, b) => b[1] - a[1])) console.log(`  ${op.padEnd(12)} ${ms.toFixed(1).padStart(8)} ms`);
console.log('slowest calls:');
for (const [key, ms] of [...calls].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  const m = macs.get(key);
  const rate = m ? `  ${(2 * m / ms / 1e6).toFixed(1).padStart(5)} GFLOP/s` : '';
  console.log(`  ${(ms / runs).toFixed(1).padStart(8)} ms${rate}  ${key}`);
}
await backend.dispose();
