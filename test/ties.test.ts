// MTCNN's tie rules against PyTorch, torchvision and NumPy (test/fixtures/ties.safetensors, written by
// tools/reference/ties.py): float32 softmax as torch computes it, NMS order among equal scores,
// NumPy's argsort, area resizing that divides twice. Bit for bit on the CPU backend and on every
// gpu.js mode that runs JavaScript or WebAssembly arithmetic (GL/WebGPU modes are in the browser suite).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { numpyArgsort } from '../src/pipeline/argsort.ts';
import { nmsUnion, type Box } from '../src/pipeline/nms.ts';
import type { Backend } from '../src/tensor/backend.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { GpujsBackend, gpujsAvailability } from '../src/tensor/gpujs/backend.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { loadFixture } from './helpers/fixtures.ts';

const fx = loadFixture('ties.safetensors');
const get = (name: string) => fx.tensors.get(name)!;
const meta = (key: string) => JSON.parse(fx.metadata[key]);

/** Indices where two float32 arrays differ in any bit. */
function mismatches(a: Float32Array, b: Float32Array): number[] {
  assert.equal(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) out.push(i);
  return out;
}

function ties(values: Float32Array): number {
  return values.length - new Set(values).size;
}

test('the fixtures hold exact ties, and a float64 softmax rounded once would miss them', () => {
  const rows = get('softmax.rows.input').data;
  const want = get('softmax.rows.output').data;
  let differs = 0;
  for (let i = 0; i < rows.length; i += 2) {
    const m = Math.max(rows[i], rows[i + 1]);
    const e0 = Math.exp(rows[i] - m);
    const e1 = Math.exp(rows[i + 1] - m);
    if (Math.fround(e1 / (e0 + e1)) !== want[i + 1]) differs++;
  }
  assert.ok(differs > 20, `float64 softmax differs from torch on only ${differs} rows: the fixture cannot tell the rules apart`);
  const faceScores = want.filter((_, i) => i % 2 === 1);
  assert.ok(ties(faceScores) > 1000, `only ${ties(faceScores)} tied scores`);
  assert.equal(want[1], 0.9999998807907104); // the documented O-Net case, as torch computed it
});

const backends: [string, () => Backend][] = [
  ['cpu (SIMD)', () => new CpuBackend({ threads: 1, simd: true })],
  ['cpu (TypeScript)', () => new CpuBackend({ threads: 1, simd: false })],
];
const availability = await gpujsAvailability();
for (const mode of ['cpu', 'webasm'] as const) {
  if (availability[mode] === true) backends.push([`gpujs ${mode}`, () => new GpujsBackend({ mode, async: false, fuse: false })]);
  else console.log(`SKIPPED gpujs ${mode}: ${availability[mode]}`);
}

for (const [label, make] of backends) {
  describe(label, () => {
    const backend = make();
    after(() => backend.dispose());

    for (const form of ['map', 'rows']) {
      test(`softmax of a ${form === 'map' ? "P-Net map" : 'R-Net/O-Net batch'} equals torch's float32 softmax bit for bit`, async () => {
        const x = get(`softmax.${form}.input`);
        const got = await backend.softmax(new Tensor(x.shape, x.data.slice()));
        const bad = mismatches(got.data, get(`softmax.${form}.output`).data);
        assert.deepEqual(bad.slice(0, 5), [], `${bad.length} values differ`);
      });
    }

    test("area resize equals torch's interpolate(mode='area') of facenet-pytorch, normalised, bit for bit", async () => {
      for (const c of meta('area') as { name: string; region: number[]; out: number[] }[]) {
        const img = get(`area.${c.name}.image`);
        const [height, width] = img.shape;
        const image = { width, height, data: Uint8Array.from(img.data) };
        const [x, y, w, h] = c.region;
        const got = await backend.resizeArea(image, [{ x, y, width: w, height: h }], c.out[0], c.out[1]);
        const bad = mismatches(got.data, get(`area.${c.name}.output`).data);
        assert.deepEqual(bad.slice(0, 5), [], `case ${c.name}: ${bad.length} of ${got.size} values differ`);
      }
    });
  });
}

test("IoU NMS keeps exactly torchvision's boxes, in its order, with tied scores", () => {
  for (const c of meta('nms') as { name: string; threshold: number }[]) {
    const b = get(`nms.${c.name}.boxes`).data;
    const s = get(`nms.${c.name}.scores`).data;
    const boxes: Box[] = Array.from(s, (score, i) => ({ x1: b[4 * i], y1: b[4 * i + 1], x2: b[4 * i + 2], y2: b[4 * i + 3], score }));
    assert.ok(ties(s) > 0);
    assert.deepEqual(nmsUnion(boxes, c.threshold), Array.from(get(`nms.${c.name}.keep`).data), `case ${c.name}`);
  }
});

test("NumPy's argsort order is reproduced with ties, past its 16-element insertion sort", () => {
  for (const name of meta('argsort') as string[]) {
    const scores = get(`argsort.${name}.scores`).data;
    assert.deepEqual(numpyArgsort(scores), Array.from(get(`argsort.${name}.order`).data), `case ${name} (${scores.length} scores)`);
  }
});
