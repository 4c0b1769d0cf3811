// Weights that overflow: a finite but huge value loads (it is a legal float32), yet the net's
// output turns non-finite; that must be a typed error naming the net and the first bad layer.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BUNDLED_MOBILEFACENET, loadMobileFaceNet, readWeightsFile } from '../src/nets/weights.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { WeightsError } from '../src/errors.ts';
import { writeSafetensors } from '../src/tensor/safetensors.ts';
import { Tensor } from '../src/tensor/tensor.ts';

test('MobileFaceNet with one weight set to 3.4e38 refuses to embed, naming the net and layer', async () => {
  const { tensors, metadata } = readWeightsFile(BUNDLED_MOBILEFACENET);
  // The first conv's first weight: every later layer sees the overflow.
  const [name, first] = [...tensors].find(([, t]) => t.rank === 4)!;
  const poisoned = new Map(tensors);
  const data = Float32Array.from(first.data);
  data[0] = 3.4e38;
  poisoned.set(name, new Tensor(first.shape, data));
  const file = join(mkdtempSync(join(tmpdir(), 'tsface-w-')), 'poisoned.safetensors');
  writeFileSync(file, writeSafetensors(poisoned, metadata));
  const net = loadMobileFaceNet(file);
  const backend = new CpuBackend();
  const x = new Tensor([1, 3, 112, 112], Float32Array.from({ length: 3 * 112 * 112 }, (_, i) => ((i * 13) % 255) / 127.5 - 1));
  await assert.rejects(net.forward(backend, x), (e: unknown) => {
    assert.ok(e instanceof WeightsError, String(e));
    assert.match(e.message, /poisoned\.safetensors/);
    assert.match(e.message, /mobilefacenet: layer \S+ \(\w+\) is the first to give a non-finite value/);
    return true;
  });
  // The unpoisoned net on the same input is fine.
  const out = await loadMobileFaceNet().forward(backend, x);
  assert.ok(out.output.data.every(Number.isFinite));
});

test('weights files: text, NaN and over-limit files are refused by name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-w-'));
  const text = join(dir, 'notes.safetensors');
  writeFileSync(text, 'these are not weights, just a note someone saved with the wrong name\n');
  assert.throws(() => readWeightsFile(text), /notes\.safetensors: not a safetensors file/);
  const nan = join(dir, 'nan.safetensors');
  writeFileSync(nan, writeSafetensors({ 'pnet.conv1.bias': Tensor.fromArray([2], [0, NaN]) }));
  assert.throws(() => readWeightsFile(nan), /nan\.safetensors \[pnet\.conv1\.bias\]: value 1 is NaN/);
  assert.throws(() => readWeightsFile(BUNDLED_MOBILEFACENET, 1000), /is \d+ bytes, over the limit of 1000/);
  assert.throws(() => readWeightsFile(dir), (e: unknown) => e instanceof WeightsError && /is a directory, not a regular file/.test(e.message));
});
