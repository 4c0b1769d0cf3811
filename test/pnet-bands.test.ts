// P-Net over a pyramid level in bands gives the whole level's maps bit for bit (on the SIMD and
// TypeScript CPU paths), and a large photo's detections do not change.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { loadMtcnn } from '../src/nets/weights.ts';
import { pnetMaps } from '../src/pipeline/pnetBands.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { seeded } from './helpers/seeded.ts';

const { pnet } = loadMtcnn();
const backends = [new CpuBackend({ threads: 1, simd: true }), new CpuBackend({ threads: 1, simd: false })];
after(() => Promise.all(backends.map((b) => b.dispose())));

for (const backend of backends) {
  test(`bands of any height equal one pass (${backend.describe().mode})`, async () => {
    for (const [h, w] of [[301, 257], [64, 90], [23, 40]]) {
      const x = seeded([1, 3, h, w], h * 7 + w);
      const whole = await pnet.forward(backend, x);
      for (const band of [200, 3000, 9000]) {
        const got = await pnetMaps(pnet, backend, x, band);
        for (const head of ['prob', 'box'] as const) {
          assert.deepEqual(got[head].shape, whole[head].shape, `${h}x${w} band ${band} ${head} shape`);
          const bad = got[head].data.findIndex((v, i) => !Object.is(v, whole[head].data[i]));
          assert.equal(bad, -1, `${h}x${w} band ${band} ${head}: first difference at ${bad}`);
        }
      }
    }
  });
}
