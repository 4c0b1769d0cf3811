// MobileFaceNet layer by layer against a PyTorch interpreter of the TFLite graph
// (tools/reference/mobilefacenet_layers.py): every conv, PReLU and residual add, in order.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { loadMobileFaceNet } from '../src/nets/weights.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import type { Tensor } from '../src/tensor/tensor.ts';
import { assertClose } from './helpers/compare.ts';
import { loadFixture } from './helpers/fixtures.ts';

const fixture = loadFixture('mobilefacenet_layers.safetensors');
const backend = new CpuBackend();
after(() => backend.dispose());

test('every layer and the embedding match the PyTorch interpreter of the TFLite graph', async () => {
  const net = loadMobileFaceNet();
  const traced: { name: string; t: Tensor }[] = [];
  const { output } = await net.forward(backend, fixture.tensors.get('input')!, (name, t, layer) => {
    if (['conv2d', 'prelu', 'add'].includes(layer.op)) traced.push({ name, t });
  });
  const absmax = fixture.tensors.get('absmax')!.data;
  const samples = fixture.tensors.get('samples')!;
  const sizes = fixture.tensors.get('sizes')!.data;
  const per = samples.shape[1];
  assert.equal(traced.length, absmax.length, 'layer count');
  let worst = 0;
  traced.forEach(({ name, t }, i) => {
    assert.equal(t.size, sizes[i], `${name}: size`);
    let peak = 0;
    for (const v of t.data) peak = Math.max(peak, Math.abs(v));
    assert.ok(Math.abs(peak - absmax[i]) <= 1e-5 * absmax[i], `${name}: abs max ${peak} vs ${absmax[i]}`);
    for (let k = 0; k < per; k++) {
      const got = t.data[(k * 7919 + 13) % t.size];
      const want = samples.data[i * per + k];
      const rel = Math.abs(got - want) / absmax[i];
      worst = Math.max(worst, rel);
      assert.ok(rel <= 1e-5, `${name} sample ${k}: ${got} vs ${want} (rel ${rel.toExponential(2)})`);
    }
  });
  console.log(`  ${traced.length} layers: worst sampled error ${worst.toExponential(2)} of the layer's abs max`);
  assertClose('embedding', output.reshape([2, 192]), fixture.tensors.get('embedding')!);
});
