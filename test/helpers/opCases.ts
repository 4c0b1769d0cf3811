// The per-op PyTorch fixture (tools/reference/ops.py) and how to run one case on a backend.
import type { Backend } from '../../src/tensor/backend.ts';
import { foldBatchNorm } from '../../src/tensor/foldBatchNorm.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';
import { loadFixture } from './fixtures.ts';
import { runOpCase, type Case } from './opRunner.ts';

export type { Case };

export const fixture = loadFixture('ops.safetensors');
export const cases: Case[] = JSON.parse(fixture.metadata.cases);
export const t = (c: Case, k: string): Tensor => fixture.tensors.get(`${c.name}.${k}`)!;

export function runCase(backend: Backend, c: Case): Promise<Tensor> {
  return runOpCase(backend, c, t, foldBatchNorm);
}
