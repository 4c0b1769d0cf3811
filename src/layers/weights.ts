import { WeightsError } from '../errors.ts';
import { sameShape, type Tensor } from '../tensor/tensor.ts';
import { leaves } from './containers.ts';
import type { Layer } from './layer.ts';

/** Tensor names a net expects: `<layer path with '/' replaced by '.'>.<param>`, under an optional prefix. */
export function expectedTensors(net: Layer, prefix = ''): { name: string; shape: readonly number[]; layer: Layer; param: string; buffer: boolean }[] {
  return leaves(net).flatMap(({ path, layer }) =>
    layer.paramSpecs.map((p) => ({ name: `${prefix}${path.replaceAll('/', '.')}.${p.name}`, shape: p.shape, layer, param: p.name, buffer: p.buffer ?? false })),
  );
}

/**
 * Binds tensors to the net's layers after checking that each expected tensor exists with the
 * expected shape; nothing is bound unless everything fits, so a failed load leaves the net as it was.
 */
export function bindWeights(net: Layer, tensors: ReadonlyMap<string, Tensor>, file: string, prefix = ''): void {
  const expected = expectedTensors(net, prefix);
  for (const e of expected) {
    const t = tensors.get(e.name);
    if (!t) throw new WeightsError(file, e.name, `missing (the ${e.layer.op} layer needs shape [${e.shape.join(', ')}])`);
    if (!sameShape(t.shape, e.shape)) throw new WeightsError(file, e.name, `has shape [${t.shape.join(', ')}], expected [${e.shape.join(', ')}]`);
    for (let i = 0; i < t.size; i++) {
      if (!Number.isFinite(t.data[i])) throw new WeightsError(file, e.name, `holds a non-finite value at index ${i}`);
    }
  }
  for (const e of expected) e.layer.params.set(e.param, tensors.get(e.name)!);
}
