// P-Net, R-Net and O-Net (bundled weights) layer by layer against a PyTorch implementation that
// reads the TFLite files itself (tools/reference/mtcnn_layers.py): no ../shared needed.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { loadMtcnn } from '../src/nets/weights.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import type { Tensor } from '../src/tensor/tensor.ts';
import { assertClose } from './helpers/compare.ts';
import { loadFixture } from './helpers/fixtures.ts';

const fixture = loadFixture('mtcnn_layers.safetensors');
const nets = loadMtcnn();
const backend = new CpuBackend({ threads: 2 });
after(() => backend.dispose());

for (const name of ['pnet', 'rnet', 'onet'] as const) {
  test(`${name} matches PyTorch at every layer`, async () => {
    const seen = new Map<string, Tensor>();
    await nets[name].forward(backend, fixture.tensors.get(`${name}.input`)!, (n, t) => seen.set(n, t));
    const layers = [...fixture.tensors.keys()].filter((k) => k.startsWith(`${name}.`) && k !== `${name}.input`);
    assert.ok(layers.length >= 10);
    for (const key of layers) {
      const layer = key.slice(name.length + 1);
      const got = seen.get(layer);
      assert.ok(got, `no traced output ${layer}`);
      assertClose(key, got, fixture.tensors.get(key)!);
    }
  });
}
