// A training run's state after an epoch, in one safetensors file beside the output: the net's
// tensors ("net/<name>"), the optimiser's arrays ("optim/<key>"), and in the metadata its scalar
// state, the generator's state, the step and epoch, the run's settings and the curves so far.
// Written atomically, so a run killed at any moment leaves the previous checkpoint whole.
import { existsSync } from 'node:fs';
import { readWeightsFile } from '../nets/weights.ts';
import { writeFileAtomic } from '../io/writeFile.ts';
import { WeightsError } from '../errors.ts';
import { writeSafetensors } from '../tensor/safetensors.ts';
import { Tensor } from '../tensor/tensor.ts';
import type { RandomState } from './random.ts';
import type { EpochRecord } from './history.ts';

export const CHECKPOINT_FORMAT = 'tsface-train-checkpoint-1';

export interface Checkpoint {
  /** Epochs finished. */
  epoch: number;
  /** Optimiser steps taken. */
  step: number;
  rng: RandomState;
  /** The settings that must match for a resume to be the same run (JSON). */
  fingerprint: string;
  history: EpochRecord[];
  net: Map<string, Tensor>;
  optimizer: Map<string, Float32Array | number>;
}

export function checkpointPath(out: string): string {
  return out.replace(/(\.safetensors)?$/, '.checkpoint.safetensors');
}

export function writeCheckpoint(path: string, c: Checkpoint): void {
  const tensors = new Map<string, Tensor>();
  for (const [name, t] of c.net) tensors.set(`net/${name}`, t);
  const scalars: Record<string, number> = {};
  for (const [key, v] of c.optimizer) {
    if (typeof v === 'number') scalars[key] = v;
    else tensors.set(`optim/${key}`, new Tensor([v.length], v));
  }
  const metadata = {
    format: CHECKPOINT_FORMAT,
    epoch: String(c.epoch),
    step: String(c.step),
    rng: JSON.stringify(c.rng),
    fingerprint: c.fingerprint,
    history: JSON.stringify(c.history),
    optimizer_scalars: JSON.stringify(scalars),
  };
  writeFileAtomic(path, writeSafetensors(tensors, metadata), (reason) => new WeightsError(path, null, reason));
}

export function readCheckpoint(path: string): Checkpoint | null {
  if (!existsSync(path)) return null;
  const { tensors, metadata } = readWeightsFile(path);
  if (metadata.format !== CHECKPOINT_FORMAT) throw new WeightsError(path, null, `is not a tsface training checkpoint (format ${metadata.format ?? 'absent'})`);
  const net = new Map<string, Tensor>();
  const optimizer = new Map<string, Float32Array | number>();
  for (const [name, t] of tensors) {
    if (name.startsWith('net/')) net.set(name.slice(4), t);
    else if (name.startsWith('optim/')) optimizer.set(name.slice(6), t.data);
  }
  try {
    for (const [k, v] of Object.entries(JSON.parse(metadata.optimizer_scalars) as Record<string, number>)) optimizer.set(k, v);
    return {
      epoch: Number(metadata.epoch),
      step: Number(metadata.step),
      rng: JSON.parse(metadata.rng) as RandomState,
      fingerprint: metadata.fingerprint,
      history: JSON.parse(metadata.history) as EpochRecord[],
      net,
      optimizer,
    };
  } catch (e) {
    throw new WeightsError(path, null, `checkpoint metadata is damaged: ${(e as Error).message}`);
  }
}
