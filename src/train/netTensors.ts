// Every tensor a net holds (weights, biases, PReLU slopes, batch-norm statistics) under the
// names its weights file uses, so a trained file loads wherever the bundled one does.
import type { Net } from '../nets/net.ts';
import { WeightsError } from '../errors.ts';
import type { Tensor } from '../tensor/tensor.ts';

export function netTensors(net: Net): Map<string, Tensor> {
  return new Map([...net.parameters(), ...net.buffers()].map((p) => [p.name, p.tensor]));
}

/** Copies saved values into the net's own tensors (in place: optimisers and tapes hold those objects). */
export function restoreNetTensors(net: Net, saved: ReadonlyMap<string, Tensor>, file: string): void {
  const own = netTensors(net);
  for (const [name, t] of own) {
    const s = saved.get(name);
    if (!s) throw new WeightsError(file, name, 'missing from the checkpoint');
    if (s.size !== t.size) throw new WeightsError(file, name, `holds ${s.size} values, the net's tensor ${t.size}`);
  }
  for (const [name, t] of own) t.data.set(saved.get(name)!.data);
}

/** Whether every value of every tensor is finite (x * 0 is 0 for finite x, NaN otherwise). */
export function allFinite(tensors: Iterable<Tensor>): boolean {
  for (const t of tensors) {
    let probe = 0;
    for (let i = 0; i < t.size; i++) probe += t.data[i] * 0;
    if (probe !== 0) return false;
  }
  return true;
}
