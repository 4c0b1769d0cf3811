// Every named intermediate of a forward pass with its statistics: what `tsface inspect`
// prints and what cross-checking compares.
import type { Net } from '../nets/net.ts';
import type { Backend } from '../tensor/backend.ts';
import type { Tensor } from '../tensor/tensor.ts';

export interface TensorStats {
  min: number;
  max: number;
  mean: number;
  std: number;
  /** Fraction of exact zeros (dead ReLUs, padding). */
  zeros: number;
}

export interface TraceEntry extends TensorStats {
  name: string;
  op: string;
  /** Shape without the batch dimension. */
  shape: number[];
  tensor?: Tensor;
}

export function tensorStats(data: ArrayLike<number>): TensorStats {
  let min = Infinity, max = -Infinity, sum = 0, zeros = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    if (v === 0) zeros++;
  }
  const n = data.length || 1;
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < data.length; i++) sq += (data[i] - mean) ** 2;
  return { min, max, mean, std: Math.sqrt(sq / n), zeros: zeros / n };
}

/** Runs the net and returns every named output in execution order (tensors kept on request). */
export async function trace(net: Net, input: Tensor, backend: Backend, options: { tensors?: boolean } = {}): Promise<TraceEntry[]> {
  const entries: TraceEntry[] = [];
  await net.forward(backend, input, (name, t, layer) => {
    entries.push({ name, op: layer.op, shape: t.shape.slice(1) as number[], ...tensorStats(t.data), tensor: options.tensors ? t : undefined });
  });
  return entries;
}
