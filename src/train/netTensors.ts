// Every tensor a net holds (weights, biases, PReLU slopes, batch-norm statistics) under the
// names its weights file uses, so a trained file loads wherever the bundled one does.
import { Sequential } from '../layers/containers.ts';
import { expectedTensors } from '../layers/weights.ts';
import type { Net } from '../nets/net.ts';
import { WeightsError } from '../tensor/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';

export function netTensors(net: Net): Map<string, Tensor> {
  const all = new Sequential('', [net.trunk, ...Object.values(net.heads)]);
  const out = new Map<string, Tensor>();
  for (const e of expectedTensors(all, `${net.name}.`)) {
    const t = e.layer.params.get(e.param);
    if (!t) throw new WeightsError('<net>', e.name, 'is not loaded');
    out.set(e.name, t);
  }
  return out;
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
