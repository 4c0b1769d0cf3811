// Bench rows for one training step at batch 32 (8 identities x 4 images): forward on the tape,
// batch-hard triplet loss, backward, Adam update; MobileFaceNet from its bundled weights,
// nn4.small2 (batch norms in training mode) from seeded torch-default weights. tsface at 1 and
// 2 threads and PyTorch on the CPU at the same thread counts (tools/bench/pytorch_train_step.py,
// a worker process per thread count holding the same weights and batch) are timed in turns, so
// the ratio holds on a shared machine. Opt-in: minutes per case.
//   npm run bench -- --only train-step          (or --train-step beside the default cases)
//   node --import tsx tools/bench/trainStep.ts [--runs N] [--only PREFIX]
//   node --import tsx tools/bench/trainStep.ts --profile CASE [--threads N] [--runs N] [--by-shape]
//     where a tsface step's time goes: ms per backend op over the step, forward and backward apart
//     (--by-shape: per op and tensor shapes, the slowest 40).
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Net } from '../../src/nets/net.ts';
import { loadMobileFaceNet } from '../../src/nets/weights.ts';
import { startingNet } from '../../src/train/init.ts';
import { netTensors } from '../../src/train/netTensors.ts';
import { Adam } from '../../src/train/optimizers.ts';
import { tripletStep } from '../../src/train/tripletStep.ts';
import { CpuBackend } from '../../src/tensor/cpu/backend.ts';
import { writeSafetensors } from '../../src/tensor/safetensors.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { random } from './random.ts';
import { interleaved } from './timing.ts';

interface BenchRow { case: string; backend: string; mode: string; threads: number; ms: number; gflops: number | null; scaling?: number }

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./pytorch_train_step.py', import.meta.url));
const BATCH = 32;
const PER_IDENTITY = 4;
/**
 * Adam runs its full update at a learning rate of 0, but the weights stay put: every timed step
 * does the same work. Trained on, the one fixed batch soon leaves no triplet with a positive
 * loss, and tsface's step then skips backward (PyTorch's still runs it over zeros).
 */
const LR = 0;

interface TrainCase {
  name: string;
  /** The net's name in its weights file, which the Python side reads the tensors under. */
  python: 'mobilefacenet' | 'nn4';
  make: () => Net;
  /** The batch: inputs in the range the net reads (MobileFaceNet (x - 127.5) / 128, nn4 x / 255). */
  input: () => Tensor;
  training: boolean;
}

const cases: TrainCase[] = [
  {
    name: 'train-step-mobilefacenet-b32', python: 'mobilefacenet', make: loadMobileFaceNet, training: false,
    input: () => scaled(random([BATCH, 3, 112, 112], 11), 2, 0),
  },
  {
    name: 'train-step-nn4small2-b32', python: 'nn4', make: () => startingNet('nn4.small2.v1', 'random', 1).net, training: true,
    input: () => scaled(random([BATCH, 3, 96, 96], 12), 1, 0.5),
  },
];

function scaled(t: Tensor, by: number, plus: number): Tensor {
  for (let i = 0; i < t.size; i++) t.data[i] = t.data[i] * by + plus;
  return t;
}

/** Why PyTorch cannot run here, or null. */
function pythonMissing(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  return r.error ? `${PYTHON} not runnable (${r.error.message})` : r.status !== 0 ? `torch/numpy missing at ${PYTHON}` : null;
}

/** One pytorch_train_step.py worker: `step()` runs a step there and resolves with its loss. */
class TorchWorker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderr = '';
  version = '';

  constructor(net: string, threads: number, request: string) {
    this.child = spawn(PYTHON, [SCRIPT, '--net', net, '--threads', String(threads), '--request', request, '--lr', String(LR)]);
    this.child.stderr.on('data', (d) => (this.stderr += d));
    // A worker that died says why through reply(); writes to its closed stdin are not the news.
    this.child.stdin.on('error', () => {});
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  private async reply(): Promise<Record<string, unknown>> {
    const { value, done } = await this.lines.next();
    if (done) throw new Error(`pytorch_train_step.py exited: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return JSON.parse(value) as Record<string, unknown>;
  }

  async ready(): Promise<void> {
    this.version = String((await this.reply()).torch);
  }

  async step(): Promise<number> {
    this.child.stdin.write('step\n');
    return Number((await this.reply()).loss);
  }

  close(): void {
    this.child.stdin.end('quit\n');
  }
}

export async function trainStepCases(record: (row: BenchRow, extra?: string) => void, wanted: (name: string) => boolean, runs: number, warmup = 2): Promise<void> {
  const chosen = cases.filter((c) => wanted(c.name));
  if (!chosen.length) return;
  const missing = pythonMissing();
  const dir = mkdtempSync(join(tmpdir(), 'tsface-train-step-'));
  try {
    for (const c of chosen) await trainStepCase(c, record, runs, warmup, missing, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function trainStepCase(c: TrainCase, record: (row: BenchRow, extra?: string) => void, runs: number, warmup: number, missing: string | null, dir: string): Promise<void> {
  const x = c.input();
  const labels = Array.from({ length: BATCH }, (_, i) => Math.floor(i / PER_IDENTITY));
  // Each engine steps its own copy of the net: the Adam updates of one do not reach another.
  const engines = [1, 2].map((threads) => {
    const net = c.make();
    const backend = new CpuBackend({ threads });
    const optimizer = new Adam(net.parameters(), { lr: LR });
    let loss = NaN;
    let withoutBackward = 0;
    return {
      threads, backend, first: () => loss, withoutBackward: () => withoutBackward,
      step: async () => {
        const r = await tripletStep(net, backend, x, labels, { mining: 'batch-hard', training: c.training });
        if (Number.isNaN(loss)) loss = r.loss;
        if (r.grads.size) optimizer.step(r.grads);
        else withoutBackward++;
      },
    };
  });
  const torch: TorchWorker[] = [];
  const torchLoss: number[] = [];
  if (missing) {
    console.log(`${c.name.padEnd(26)} PyTorch skipped: ${missing}`);
  } else {
    const request = join(dir, `${c.name}.safetensors`);
    const tensors = new Map(netTensors(c.make()));
    tensors.set('input', x);
    tensors.set('labels', new Tensor([BATCH], Float32Array.from(labels)));
    writeFileSync(request, writeSafetensors(tensors));
    for (const threads of [1, 2]) torch.push(new TorchWorker(c.python, threads, request));
    await Promise.all(torch.map((w) => w.ready()));
  }
  try {
    const fns = [...engines.map((e) => e.step), ...torch.map((w, k) => async () => {
      const loss = await w.step();
      torchLoss[k] ??= loss;
    })];
    const { ms, ratioToFirst } = await interleaved(fns, runs, warmup);
    const losses = (k: number) => `loss tsface ${engines[k].first().toFixed(5)}${torch[k] ? `, torch ${torchLoss[k].toFixed(5)}` : ''}${engines[k].withoutBackward() ? `; ${engines[k].withoutBackward()} steps WITHOUT BACKWARD (no active triplet)` : ''}`;
    engines.forEach((e, k) => {
      const vsTorch = torch[k] ? `, torch/tsface x${(ms[2 + k] / ms[k]).toFixed(2)}` : '';
      record({ case: c.name, backend: 'cpu', mode: e.backend.describe().mode, threads: e.threads, ms: ms[k], gflops: null, ...(k > 0 ? { scaling: ratioToFirst[k] } : {}) },
        `${k > 0 ? `x${ratioToFirst[k].toFixed(2)} in turns with 1 thread; ` : ''}${losses(k)}${vsTorch}`);
    });
    torch.forEach((w, k) => record({ case: c.name, backend: 'pytorch', mode: `torch ${w.version}`, threads: k + 1, ms: ms[2 + k], gflops: null },
      'tools/bench/pytorch_train_step.py, timed in turns with tsface'));
  } finally {
    for (const w of torch) w.close();
    for (const e of engines) await e.backend.dispose();
  }
}

/**
 * Every backend op of `runs` tsface steps timed through a wrapper, summed per op and per phase
 * (forward until the loss is seeded, backward after: the tape's first backward call is the
 * first op after the forward's last), printed slowest first.
 */
async function profile(name: string, threads: number, runs: number, byShape: boolean): Promise<void> {
  const c = cases.find((k) => k.name === name || k.name === `train-step-${name}`);
  if (!c) throw new Error(`unknown case '${name}'; one of ${cases.map((k) => k.name).join(', ')}`);
  const net = c.make();
  const backend = new CpuBackend({ threads });
  const optimizer = new Adam(net.parameters(), { lr: LR });
  const x = c.input();
  const labels = Array.from({ length: BATCH }, (_, i) => Math.floor(i / PER_IDENTITY));
  const calls = new Map<string, number>();
  let phase = 'forward';
  let timing = false;
  const timed = new Proxy(backend, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop === 'release' || prop === 'describe' || prop === 'alloc') return value.bind(target);
      return async (...a: unknown[]) => {
        const t0 = performance.now();
        const result = await value.apply(target, a);
        if (timing) {
          const shapes = byShape ? ` ${a.filter((t): t is Tensor => t instanceof Tensor).map((t) => t.shape.join('x')).join(' ')}${a.some((o) => o && typeof o === 'object' && 'groups' in o && (o as { groups?: number }).groups! > 1) ? ' depthwise' : ''}` : '';
          const key = `${phase} ${String(prop)}${shapes}`;
          calls.set(key, (calls.get(key) ?? 0) + performance.now() - t0);
        }
        return result;
      };
    },
  }) as CpuBackend;
  let stepMs = 0, optimizerMs = 0;
  for (let r = 0; r < runs + 1; r++) {
    timing = r > 0;
    phase = 'forward';
    const t0 = performance.now();
    // The tape's backward starts once the forward has made the embedding: mark it by the seed.
    const result = await tripletStep(net, new Proxy(timed, {
      get(target, prop) {
        if (prop === 'l2NormalizeBackward') phase = 'backward';
        return Reflect.get(target, prop, target);
      },
    }), x, labels, { mining: 'batch-hard', training: c.training });
    const t1 = performance.now();
    if (result.grads.size) optimizer.step(result.grads);
    if (timing) {
      stepMs += performance.now() - t0;
      optimizerMs += performance.now() - t1;
    }
  }
  console.log(`${c.name}, ${threads} thread(s): ${(stepMs / runs).toFixed(0)} ms per step (mean of ${runs}), Adam ${(optimizerMs / runs).toFixed(0)} ms`);
  const phases = new Map<string, number>();
  for (const [key, ms] of calls) phases.set(key.split(' ')[0], (phases.get(key.split(' ')[0]) ?? 0) + ms / runs);
  for (const [p, ms] of phases) console.log(`  ${p.padEnd(10)} ${ms.toFixed(0).padStart(7)} ms in ops`);
  for (const [key, ms] of [...calls].sort((a, b) => b[1] - a[1]).slice(0, byShape ? 40 : undefined)) console.log(`  ${(ms / runs).toFixed(1).padStart(8)} ms  ${key}`);
  await backend.dispose();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
  const profiled = flag('--profile');
  if (profiled) {
    await profile(profiled, Number(flag('--threads') ?? 1), Number(flag('--runs') ?? 2), args.includes('--by-shape'));
    process.exit(0);
  }
  const only = flag('--only');
  const print = (r: BenchRow, extra = '') => console.log(`${r.case.padEnd(30)} ${`${r.backend}/${r.mode}`.padEnd(36)} threads ${r.threads}  ${r.ms.toFixed(1).padStart(9)} ms  ${extra}`);
  await trainStepCases(print, (name) => !only || name.startsWith(only), Number(flag('--runs') ?? 5), Number(flag('--warmup') ?? 2));
  process.exit(0);
}
