// SGD, Adam, AdamW, clipGradNorm and the learning-rate schedules against torch.optim and
// torch.optim.lr_scheduler (tools/reference/train_step.py optim, run here on seeded parameters
// and gradients), including a save and restore of the optimiser state halfway.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { readSafetensors } from '../src/tensor/safetensors.ts';
import { writeSafetensors } from '../src/tensor/safetensors.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { Adam, AdamW, clipGradNorm, SGD, type Optimizer } from '../src/train/optimizers.ts';
import { cosineLr, stepLr } from '../src/train/schedule.ts';
import { seeded } from './helpers/seeded.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../tools/reference/train_step.py', import.meta.url));

function torchSkip(): string | false {
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' });
  if (r.status === 0) return false;
  const msg = `torch or numpy missing at ${PYTHON}: SKIPPING the torch.optim comparison`;
  console.warn(`\n!!! ${msg} !!!\n`);
  return msg;
}

const SHAPES: Record<string, number[]> = { 'n.conv.weight': [4, 3, 3, 3], 'n.conv.bias': [4], 'n.dense.weight': [5, 7] };
const NAMES = Object.keys(SHAPES);
const STEPS = 5;
const MAX_NORM = 0.5;
const CONFIGS: Record<string, { kind: 'sgd' | 'adam' | 'adamw'; lr: number; momentum?: number; weightDecay?: number; nesterov?: boolean }> = {
  sgd: { kind: 'sgd', lr: 0.1 },
  sgd_momentum_decay: { kind: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 1e-2 },
  sgd_nesterov: { kind: 'sgd', lr: 0.05, momentum: 0.8, weightDecay: 1e-3, nesterov: true },
  adam: { kind: 'adam', lr: 1e-2 },
  adam_decay: { kind: 'adam', lr: 3e-3, weightDecay: 0.1 },
  adamw: { kind: 'adamw', lr: 1e-2, weightDecay: 0.05 },
};

const init = (name: string) => seeded(SHAPES[name], 100 + NAMES.indexOf(name));
// Gradients of mixed scales (some tiny) so that eps and the bias corrections matter.
const grad = (name: string, k: number) => {
  const g = seeded(SHAPES[name], 1000 + 10 * k + NAMES.indexOf(name));
  g.data.forEach((v, i) => (g.data[i] = v * (i % 3 === 0 ? 1e-4 : 1)));
  return g;
};

function runReference(): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-optim-'));
  try {
    const req = new Map<string, Tensor>();
    for (const n of NAMES) {
      req.set(`init.${n}`, init(n));
      for (let k = 0; k < STEPS; k++) req.set(`grad.${n}.${k}`, grad(n, k));
    }
    const jsonConfigs = JSON.stringify(CONFIGS);
    writeFileSync(join(dir, 'req.safetensors'), writeSafetensors(req, { params: JSON.stringify(NAMES), steps: String(STEPS), configs: jsonConfigs, max_norm: String(MAX_NORM) }));
    const run = spawnSync(PYTHON, [SCRIPT, 'optim', join(dir, 'req.safetensors'), join(dir, 'out.safetensors')], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    return readSafetensors(readFileSync(join(dir, 'out.safetensors')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function makeOptimizer(key: string, params: { name: string; tensor: Tensor }[]): Optimizer {
  const c = CONFIGS[key];
  if (c.kind === 'sgd') return new SGD(params, c);
  if (c.kind === 'adam') return new Adam(params, c);
  return new AdamW(params, c);
}

/** Largest difference relative to the reference's largest magnitude. */
function relErr(got: Float32Array, want: Float32Array): number {
  let scale = 0, err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    err = Math.max(err, Math.abs(got[i] - want[i]));
  }
  return err / scale;
}

// Float32 updates done in torch's order: the same bits or an ulp or two away (2^-23 is one ulp
// at the top of a binade), not more.
const TOL = 4 * 2 ** -23;

const skip = torchSkip();
describe('optimisers against torch.optim (tools/reference/train_step.py optim)', { skip }, () => {
  const ref = skip ? null : runReference();
  const want = (key: string) => ref!.tensors.get(key)!;

  for (const key of Object.keys(CONFIGS)) {
    test(`${key}: ${STEPS} steps, and the same after saving and restoring the state after 3`, () => {
      const straight = NAMES.map((name) => ({ name, tensor: init(name) }));
      const opt = makeOptimizer(key, straight);
      for (let k = 0; k < STEPS; k++) opt.step(new Map(straight.map((p) => [p.tensor, grad(p.name, k)])));
      let worst = 0;
      for (const p of straight) {
        const e = relErr(p.tensor.data, want(`${key}.${p.name}`).data);
        worst = Math.max(worst, e);
        assert.ok(e <= TOL, `${key} ${p.name}: ${e.toExponential(2)} from torch`);
      }
      // Resume: a new optimiser on the same tensors, given the first one's saved state.
      const resumed = NAMES.map((name) => ({ name, tensor: init(name) }));
      const first = makeOptimizer(key, resumed);
      for (let k = 0; k < 3; k++) first.step(new Map(resumed.map((p) => [p.tensor, grad(p.name, k)])));
      const saved = first.state();
      first.step(new Map(resumed.map((p) => [p.tensor, grad(p.name, 0)]))); // must not leak into `saved`
      for (const p of resumed) p.tensor.data.set(init(p.name).data);
      const replay = makeOptimizer(key, resumed);
      for (let k = 0; k < 3; k++) replay.step(new Map(resumed.map((p) => [p.tensor, grad(p.name, k)])));
      const second = makeOptimizer(key, resumed);
      second.loadState(saved);
      for (let k = 3; k < STEPS; k++) second.step(new Map(resumed.map((p) => [p.tensor, grad(p.name, k)])));
      for (const [i, p] of resumed.entries()) assert.deepEqual(p.tensor.data, straight[i].tensor.data, `${key} ${p.name}: resumed run differs`);
      console.log(`  ${key.padEnd(20)} worst ${worst.toExponential(2)} of the largest |weight|`);
    });
  }

  test('a parameter without a gradient is left alone, as torch skips a None grad', () => {
    const p = { name: 'a', tensor: init('n.conv.bias') };
    const before = p.tensor.data.slice();
    new AdamW([p], { lr: 0.1 }).step(new Map());
    assert.deepEqual(p.tensor.data, before);
  });

  test(`clipGradNorm(${MAX_NORM}): torch's total norm and scaled gradients`, () => {
    for (let k = 0; k < STEPS; k++) {
      const grads = new Map(NAMES.map((n) => [init(n), grad(n, k)]));
      const total = clipGradNorm(grads, MAX_NORM);
      const wantTotal = want(`clip.${k}.total`).data[0];
      assert.ok(Math.abs(total - wantTotal) <= TOL * wantTotal, `step ${k}: total ${total} vs ${wantTotal}`);
      for (const [i, g] of [...grads.values()].entries()) {
        const e = relErr(g.data, want(`clip.${k}.${NAMES[i]}`).data);
        assert.ok(e <= TOL, `step ${k} ${NAMES[i]}: ${e.toExponential(2)}`);
      }
    }
  });

  test('stepLr and cosineLr (with and without warm-up) give torch schedulers\' rates', () => {
    const lrs: Record<string, number[]> = JSON.parse(ref!.metadata.lr);
    const ours: Record<string, (s: number) => number> = {
      step: (s) => stepLr(0.1, s, 3, 0.5),
      cosine: (s) => cosineLr(0.1, s, 10, 1e-3),
      warmup_cosine: (s) => cosineLr(0.1, s, 20, 1e-3, 4),
    };
    // torch's schedulers are recursive (each rate from the last), ours closed forms.
    for (const [key, want] of Object.entries(lrs)) {
      for (const [s, w] of want.entries()) assert.ok(Math.abs(ours[key](s) - w) <= 1e-12 * w, `${key} step ${s}: ${ours[key](s)} vs torch ${w}`);
    }
  });
});
