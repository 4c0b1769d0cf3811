// The backward-op fixture from torch.autograd (tools/reference/backward_ops.py) loaded from disk
// for the Node suites, with the runner and the comparison rule (backwardRunner.ts, which a page
// bundle imports directly) bound to it.
import type { Backend } from '../../src/tensor/backend.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';
import { compareGradients as compareWith, runBackwardCaseWith, type BackwardCase, type GradientCheck } from './backwardRunner.ts';
import { loadFixture } from './fixtures.ts';

export { compareGradient, GRADIENT_TOLERANCE, runBackwardCaseWith, type BackwardCase, type FixtureTensor, type GradientCheck } from './backwardRunner.ts';

export const backwardFixture = loadFixture('backward_ops.safetensors');
export const backwardCases: BackwardCase[] = JSON.parse(backwardFixture.metadata.cases);
export const backwardTensor = (c: BackwardCase, key: string): Tensor => {
  const t = backwardFixture.tensors.get(`${c.name}.${key}`);
  if (!t) throw new Error(`backward fixture has no ${c.name}.${key}`);
  return t;
};

/** Runs a case's backward op(s) on `backend`: the gradients under the fixture's names (c.grads). */
export function runBackwardCase(backend: Backend, c: BackwardCase): Promise<Record<string, Tensor>> {
  return runBackwardCaseWith(backend, c, backwardTensor);
}

/** The comparison rule, gradient by gradient: `got` against the fixture's expected tensors (this fixture's unless `t` is given). */
export function compareGradients(c: BackwardCase, got: Record<string, Tensor>, t = backwardTensor): GradientCheck[] {
  return compareWith(c, got, t);
}
