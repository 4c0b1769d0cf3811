// Two CPU backends that differ in one option, timed in turns in one process: a pass on one, a
// pass on the other, the order swapped every turn, and the median of the per-turn ratios. On a
// shared machine whose speed drifts by the minute, runs of two builds minutes apart can differ by
// more than the change being measured; passes taken in turns see the same drift.
//   npm run bench:ab -- CASE --option NAME=VALUE [--threads N] [--runs N]
// CASE as bench:profile's (netCases.ts); NAME a CpuBackendOptions key (boolean or number value),
// the other backend keeping the default. Prints both medians and B / A (below 1: B is faster).
import { CpuBackend, type CpuBackendOptions } from '../../src/tensor/cpu/backend.ts';
import { netCases } from './netCases.ts';
import { random } from './random.ts';
import { interleaved, WARMUP } from './timing.ts';

const args = process.argv.slice(2);
const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const name = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')) ?? '';
const option = flag('--option');
if (!netCases[name] || !option || !option.includes('=')) {
  console.error(`usage: npm run bench:ab -- CASE --option NAME=VALUE [--threads N] [--runs N]; CASE one of ${Object.keys(netCases).join(', ')}`);
  process.exit(2);
}
const [key, text] = option.split('=');
const value = text === 'true' ? true : text === 'false' ? false : Number(text);
if (typeof value === 'number' && !Number.isFinite(value)) {
  console.error(`--option ${option}: the value must be true, false or a number`);
  process.exit(2);
}
const threads = Number(flag('--threads') ?? 1);
const runs = Number(flag('--runs') ?? 40);
const [net, shape] = netCases[name]();
const x = random(shape, 7);
const a = new CpuBackend({ threads });
const b = new CpuBackend({ threads, [key]: value } as CpuBackendOptions);
const pass = (backend: CpuBackend) => async () => {
  const out = await net.forward(backend, x);
  for (const t of Object.values(out)) backend.release(t);
};
const { ms, ratio } = await interleaved([pass(a), pass(b)], runs, WARMUP);
console.log(`${name}, ${threads} thread${threads > 1 ? 's' : ''}, ${runs} turns: A (default) ${ms[0].toFixed(2)} ms, B (${option}) ${ms[1].toFixed(2)} ms, B / A x${ratio(1, 0).toFixed(3)} (median of the turns' ratios)`);
await a.dispose();
await b.dispose();
