// The detector on the bundled example photo and on input it must refuse or answer with no face.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { FaceDetector } from '../src/pipeline/mtcnn.ts';
import { toRgbImage } from '../src/image/decode.ts';
import { ArgumentError, InputValueError } from '../src/errors.ts';

const detector = new FaceDetector();
after(() => detector.dispose());
const EXAMPLE = new URL('../examples/astronaut.jpg', import.meta.url).pathname;

test('the bundled example has one face with five landmarks inside its box', async () => {
  const { faces, width, height } = await detector.detect(EXAMPLE);
  assert.deepEqual([width, height], [512, 512]);
  assert.equal(faces.length, 1);
  const [x1, y1, x2, y2] = faces[0].box;
  assert.ok(faces[0].score > 0.99);
  assert.equal(faces[0].landmarks.length, 5);
  for (const [x, y] of faces[0].landmarks) assert.ok(x > x1 && x < x2 && y > y1 && y < y2);
  const [le, re, nose, lm, rm] = faces[0].landmarks;
  assert.ok(le[0] < re[0] && lm[0] < rm[0], 'left features are left in the image');
  assert.ok(le[1] < nose[1] && nose[1] < lm[1], 'eyes above nose above mouth');
});

test('raw RGB, raw RGBA and encoded input give the same faces; a batch equals single runs', async () => {
  const rgb = toRgbImage(EXAMPLE);
  const rgba = new Uint8Array(rgb.width * rgb.height * 4);
  for (let p = 0; p < rgb.width * rgb.height; p++) rgba.set([...rgb.data.subarray(3 * p, 3 * p + 3), 7], 4 * p);
  const a = await detector.detect(EXAMPLE);
  const b = await detector.detect({ width: rgb.width, height: rgb.height, data: rgba, channels: 4 });
  assert.deepEqual(b.faces, a.faces);
  const half = { width: 256, height: 512, data: new Uint8Array(256 * 512 * 3) };
  for (let y = 0; y < 512; y++) half.data.set(rgb.data.subarray(y * 512 * 3 + 128 * 3, y * 512 * 3 + 384 * 3), y * 256 * 3);
  const single = await detector.detect(half);
  const batch = await detector.detectBatch([EXAMPLE, half, rgb]);
  assert.deepEqual(batch[0].faces, a.faces);
  assert.deepEqual(batch[1].faces, single.faces);
  assert.deepEqual(batch[2].faces, a.faces);
});

test('R-Net and O-Net take their crops in even batches of at most 64, every crop once', async () => {
  const sizes: Record<'rnet' | 'onet', number[]> = { rnet: [], onet: [] };
  const own = new FaceDetector();
  try {
    for (const name of ['rnet', 'onet'] as const) {
      const net = own.nets[name];
      const forward = net.forward.bind(net);
      net.forward = (backend, x, trace) => {
        sizes[name].push(x.shape[0]);
        return forward(backend, x, trace);
      };
    }
    // The example's 12 px pyramid gives more candidates than one batch holds.
    const { report } = await own.detect(EXAMPLE, { minFaceSize: 12 });
    for (const name of ['rnet', 'onet'] as const) {
      const got = sizes[name];
      const crops = report.counts[name === 'rnet' ? 'rnetInput' : 'onetInput'];
      assert.equal(got.reduce((a, b) => a + b, 0), crops, `${name}: every crop once`);
      assert.ok(Math.max(...got) <= 64 && Math.max(...got) - Math.min(...got) <= 1, `${name}: batches ${got.join(', ')}`);
    }
    assert.ok(sizes.rnet.length >= 2, `R-Net ran ${sizes.rnet.length} batch(es) of ${report.counts.rnetInput} crops: the case does not test the cut`);
  } finally {
    await own.dispose();
  }
});

test('selection and limits', async () => {
  const all = (await detector.detect(EXAMPLE, { thresholds: [0.3, 0.3, 0.3] })).faces;
  const largest = (await detector.detect(EXAMPLE, { thresholds: [0.3, 0.3, 0.3], selection: 'largest' })).faces;
  const confident = (await detector.detect(EXAMPLE, { thresholds: [0.3, 0.3, 0.3], selection: 'confident' })).faces;
  assert.equal(largest.length, Math.min(1, all.length));
  assert.deepEqual(largest[0], all[0]);
  for (let i = 1; i < confident.length; i++) assert.ok(confident[i - 1].score >= confident[i].score);
  assert.equal((await detector.detect(EXAMPLE, { maxFaces: 0 })).faces.length, 0);
});

test('tiny, blank and bad input', async () => {
  const tiny = { width: 11, height: 40, data: new Uint8Array(11 * 40 * 3).fill(128) };
  assert.deepEqual((await detector.detect(tiny)).faces, []);
  const blank = { width: 64, height: 48, data: new Uint8Array(64 * 48 * 3).fill(255) };
  assert.deepEqual((await detector.detect(blank)).faces, []);
  await assert.rejects(detector.detect({ width: 20, height: 20, data: new Float32Array(20 * 20 * 3).fill(NaN) }), InputValueError);
  await assert.rejects(detector.detect(EXAMPLE, { minFaceSize: 5 }), ArgumentError);
  await assert.rejects(detector.detect(EXAMPLE, { scaleFactor: 1.5 }), ArgumentError);
  await assert.rejects(detector.detect(EXAMPLE, { thresholds: [0.6, 2, 0.7] }), ArgumentError);
});
