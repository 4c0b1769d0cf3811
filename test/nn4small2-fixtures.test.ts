// The whole nn4.small2.v1 (real CSV weights from ../shared, seeded stand-ins for the five
// missing tensors) against an independent PyTorch implementation (tools/reference/nn4small2.py).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { convertOpenFaceCsv } from '../src/convert/openface.ts';
import { nn4FromTensors } from '../src/nets/weights.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import type { Tensor } from '../src/tensor/tensor.ts';
import { assertClose } from './helpers/compare.ts';
import { loadFixture } from './helpers/fixtures.ts';
import { sharedPath, sharedSkip } from './helpers/shared.ts';

const CSV = 'models/openface-nn4.small2.v1/csv/';
const skip = sharedSkip(CSV);
const backend = new CpuBackend();
after(() => backend.dispose());

for (const batchNorm of [true, false]) {
  test(`every layer of nn4.small2.v1 (batch norm ${batchNorm ? 'separate' : 'folded'}) equals PyTorch's`, { skip }, async () => {
    const fixture = loadFixture('nn4small2_layers.safetensors');
    const conv = convertOpenFaceCsv(sharedPath(CSV), { standInSeed: Number(fixture.metadata.stand_in_seed) });
    const net = nn4FromTensors(conv.tensors, conv.metadata, 'shared csv', { allowStandIns: true, batchNorm });
    const seen = new Map<string, Tensor>();
    const { output } = await net.forward(backend, fixture.tensors.get('input')!, (name, t) => seen.set(name, t));
    let worst = 0;
    for (const name of JSON.parse(fixture.metadata.layers) as string[]) {
      // Folded, the conv1 layer already includes bn1: its output is the reference's bn1.
      if (!batchNorm && name === 'conv1') continue;
      const got = seen.get(!batchNorm && name === 'bn1' ? 'conv1' : name);
      assert.ok(got, `no traced layer ${name}`);
      const absmax = fixture.tensors.get(`${name}.absmax`)!.data[0];
      const samples = fixture.tensors.get(`${name}.samples`)!.data;
      for (let k = 0; k < samples.length; k++) {
        const rel = Math.abs(got.data[(k * 7919 + 13) % got.size] - samples[k]) / absmax;
        worst = Math.max(worst, rel);
        assert.ok(rel <= 1e-5, `${name} sample ${k}: rel ${rel.toExponential(2)}`);
      }
    }
    console.log(`  worst sampled layer error ${worst.toExponential(2)} of the layer's abs max`);
    assertClose('embedding', output, fixture.tensors.get('embedding')!);
  });
}
