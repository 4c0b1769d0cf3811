// How one case of the torch.autograd backward-op fixture (tools/reference/backward_ops.py) runs on
// a backend, and the rule its gradients must meet. Shared by the Node suites (through
// backwardCases.ts, which loads the fixture from disk) and the in-page suite (test/browser/
// backward.ts, which fetches it), so it imports no values from the library and nothing of Node:
// the caller hands in the fixture's tensors.
import type { Backend } from '../../src/tensor/backend.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';

export interface BackwardCase {
  name: string;
  /** The forward op whose backward runs. */
  op: 'conv2d' | 'relu' | 'prelu' | 'maxPool2d' | 'avgPool2d' | 'l2Pool2d' | 'lrn' | 'batchNorm' | 'dense' | 'softmax' | 'l2Normalize' | 'concat' | 'pad2d' | 'sumChannels';
  options: Record<string, any>;
  /** Fixture keys the backward op is given (x, weight, y, dy...). */
  inputs: string[];
  /** Fixture keys of what it must give back: torch.autograd's gradients (and batchStats' mean and variance). */
  grads: string[];
}

/** A gradient passes when every value is within this much of the reference, relative to the reference's largest magnitude. */
export const GRADIENT_TOLERANCE = 1e-5;

/** A fixture tensor of a case by key (x, dy, dx...), however the caller loaded the fixture. */
export type FixtureTensor = (c: BackwardCase, key: string) => Tensor;

/** Runs a case's backward op(s) on `backend` with the fixture's tensors from `t`: the gradients under the fixture's names (c.grads). */
export async function runBackwardCaseWith(backend: Backend, c: BackwardCase, t: FixtureTensor): Promise<Record<string, Tensor>> {
  const o = c.options;
  const dy = t(c, 'dy');
  switch (c.op) {
    case 'conv2d': {
      const x = t(c, 'x');
      const weight = t(c, 'weight');
      const options = { stride: o.stride, padding: o.padding, groups: o.groups };
      return {
        dx: await backend.conv2dBackwardInput(dy, weight, x.shape, options),
        dweight: await backend.conv2dBackwardWeight(x, dy, weight.shape, options),
        dbias: await backend.sumChannels(dy),
      };
    }
    case 'relu':
      return { dx: await backend.reluBackward(t(c, 'y'), dy) };
    case 'prelu': {
      const { dx, dAlpha } = await backend.preluBackward(t(c, 'x'), t(c, 'alpha'), dy);
      return { dx, dalpha: dAlpha };
    }
    case 'maxPool2d':
      return { dx: await backend.maxPool2dBackward(t(c, 'x'), dy, poolOptions(o)) };
    case 'avgPool2d':
      return { dx: await backend.avgPool2dBackward(dy, o.inputShape, poolOptions(o)) };
    case 'l2Pool2d':
      return { dx: await backend.l2Pool2dBackward(t(c, 'x'), t(c, 'y'), dy, poolOptions(o)) };
    case 'lrn':
      return { dx: await backend.lrnBackward(t(c, 'x'), t(c, 'y'), dy, { size: o.size, alpha: o.alpha, beta: o.beta, k: o.k }) };
    case 'batchNorm': {
      const x = t(c, 'x');
      const stats = o.training ? await backend.batchStats(x) : { mean: t(c, 'mean'), variance: t(c, 'variance') };
      const { dx, dGamma, dBeta } = await backend.batchNormBackward(x, dy, { gamma: t(c, 'gamma'), ...stats, eps: o.eps, training: o.training });
      return { dx, dgamma: dGamma, dbeta: dBeta, ...(o.training ? stats : {}) };
    }
    case 'dense':
      return {
        dx: await backend.denseBackwardInput(dy, t(c, 'weight')),
        dweight: await backend.denseBackwardWeight(t(c, 'x'), dy),
        dbias: await backend.sumChannels(dy),
      };
    case 'softmax':
      return { dx: await backend.softmaxBackward(t(c, 'y'), dy) };
    case 'l2Normalize':
      return { dx: await backend.l2NormalizeBackward(t(c, 'x'), t(c, 'y'), dy, o.eps) };
    case 'concat': {
      const out: Record<string, Tensor> = {};
      let from = 0;
      for (const [i, count] of (o.channels as number[]).entries()) {
        out[`dx${i}`] = await backend.sliceChannels(dy, from, count);
        from += count;
      }
      return out;
    }
    case 'pad2d':
      return { dx: await backend.crop2d(dy, o.padding) };
    case 'sumChannels':
      return { dbias: await backend.sumChannels(dy) };
    default:
      throw new Error(`unknown backward case op ${(c as BackwardCase).op}`);
  }
}

function poolOptions(o: Record<string, any>) {
  return { kernel: o.kernel, stride: o.stride, padding: o.padding, ceilMode: o.ceilMode, countIncludePad: o.countIncludePad };
}

export interface GradientCheck {
  key: string;
  /** Shapes equal and every value within GRADIENT_TOLERANCE of the reference's largest magnitude. */
  ok: boolean;
  maxAbs: number;
  /** maxAbs over the reference's largest magnitude. */
  maxRel: number;
  /** Why it failed, with the first value out of tolerance. */
  problem?: string;
}

/** The comparison rule, gradient by gradient: `got` against the fixture's expected tensors. */
export function compareGradients(c: BackwardCase, got: Record<string, Tensor>, t: FixtureTensor): GradientCheck[] {
  return c.grads.map((key) => compareGradient(key, got[key], t(c, key)));
}

export function compareGradient(key: string, actual: Tensor | undefined, expected: Tensor, tolerance = GRADIENT_TOLERANCE): GradientCheck {
  if (!actual) return { key, ok: false, maxAbs: Infinity, maxRel: Infinity, problem: 'missing' };
  if (actual.shape.length !== expected.shape.length || actual.shape.some((d, i) => d !== expected.shape[i])) {
    return { key, ok: false, maxAbs: Infinity, maxRel: Infinity, problem: `shape [${actual.shape}], expected [${expected.shape}]` };
  }
  let peak = 0;
  for (let i = 0; i < expected.size; i++) peak = Math.max(peak, Math.abs(expected.data[i]));
  const scale = peak || 1;
  let maxAbs = 0;
  let problem: string | undefined;
  for (let i = 0; i < expected.size; i++) {
    const d = Math.abs(actual.data[i] - expected.data[i]);
    const e = Number.isNaN(d) ? Infinity : d;
    if (e > maxAbs) maxAbs = e;
    if (problem === undefined && !(e <= tolerance * scale)) problem = `at ${i}: got ${actual.data[i]}, expected ${expected.data[i]}`;
  }
  return { key, ok: problem === undefined, maxAbs, maxRel: maxAbs / scale, problem };
}
