// The package's public entry point, as a user imports it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tsface from '../src/index.ts';

test('the index exports the documented API, and the one-call helpers work', async () => {
  for (const name of ['detectFaces', 'FaceDetector', 'embed', 'verify', 'FaceIndex', 'createRuntime', 'trace', 'summary', 'crosscheck', 'tripletLoss', 'CpuBackend', 'GpujsBackend', 'readSafetensors', 'writeSafetensors', 'NN2', 'Nn4Small2', 'MobileFaceNet', 'PNet']) {
    assert.ok(name in tsface, name);
  }
  const path = new URL('../examples/astronaut.jpg', import.meta.url).pathname;
  const faces = await tsface.detectFaces(path);
  assert.equal(faces.length, 1);
  const [face] = await tsface.embed(path);
  assert.equal(face.embedding.length, 192);
  assert.ok(Math.abs(Math.hypot(...face.embedding) - 1) < 1e-5, 'unit length');
  assert.equal(tsface.verify(face.embedding, face.embedding).same, true);
  const s = tsface.summary(tsface.PNet(), [3, 12, 12]);
  assert.deepEqual(s.layers.at(-1)!.output, [4, 1, 1]);
});
