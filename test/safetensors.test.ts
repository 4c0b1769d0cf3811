// The safetensors reader never trusts the file: every malformation is a WeightsError naming it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PNet } from '../src/nets/mtcnn.ts';
import { WeightsError } from '../src/errors.ts';
import { readSafetensors, writeSafetensors } from '../src/tensor/safetensors.ts';
import { Tensor } from '../src/tensor/tensor.ts';

function file(header: object | string, data = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function rejects(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => readSafetensors(bytes, 'bad.safetensors'), (e: unknown) => {
    assert.ok(e instanceof WeightsError, `expected a WeightsError, got ${e}`);
    assert.match((e as Error).message, /bad\.safetensors/);
    assert.match((e as Error).message, pattern);
    return true;
  });
}

test('round trip keeps names, shapes, values and metadata, byte-identically on rewrite', () => {
  const tensors = new Map([['b', Tensor.fromArray([2, 2], [1, -2, 3.5, 1e-30])], ['a', Tensor.fromArray([3], [0, -3.4e38, 3.4e38])]]);
  const bytes = writeSafetensors(tensors, { source: 'test' });
  const back = readSafetensors(bytes);
  assert.deepEqual([...back.tensors.keys()], ['a', 'b']);
  assert.deepEqual([...back.tensors.get('b')!.shape], [2, 2]);
  assert.deepEqual([...back.tensors.get('b')!.data], [...tensors.get('b')!.data]);
  assert.equal(back.metadata.source, 'test');
  assert.deepEqual(writeSafetensors(back.tensors, back.metadata), bytes);
});

test('F16 tensors are read and widened to float32', () => {
  const data = new Uint8Array(6);
  const dv = new DataView(data.buffer);
  dv.setUint16(0, 0x3c00, true); // 1
  dv.setUint16(2, 0xc000, true); // -2
  dv.setUint16(4, 0x0001, true); // smallest subnormal
  const t = readSafetensors(file({ h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] } }, data)).tensors.get('h')!;
  assert.deepEqual([...t.data], [1, -2, Math.fround(2 ** -24)]);
});

test('malformed files are rejected with the reason and the tensor named', () => {
  rejects(new Uint8Array(5), /truncated/);
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
  huge[8] = 0x7b; // '{': looks like a header, but a huge one
  rejects(huge, /exceeds/);
  const past = new Uint8Array(16);
  new DataView(past.buffer).setBigUint64(0, 100n, true);
  past[8] = 0x7b;
  rejects(past, /past the end/);
  rejects(new TextEncoder().encode('just some text, certainly not weights\n'), /not a safetensors file/);
  rejects(Uint8Array.from({ length: 64 }, (_, i) => (i * 97 + 13) & 255), /not a safetensors file/);
  rejects(writeSafetensors({ w: Tensor.fromArray([3], [1, NaN, 2]) }), /\[w\].*value 1 is NaN/);
  rejects(writeSafetensors({ w: Tensor.fromArray([2], [1, -Infinity]) }), /\[w\].*value 1 is -Infinity/);
  rejects(file('{not json'), /not valid UTF-8 JSON/);
  rejects(file('[1,2]'), /not a safetensors file/);
  rejects(file({ t: { dtype: 'Q4', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), /\[t\].*unknown dtype/);
  rejects(file({ t: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), /\[t\].*not supported/);
  rejects(file({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)), /\[t\].*needs 8/);
  rejects(file({ t: { dtype: 'F32', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(4)), /\[t\].*outside/);
  rejects(file({ t: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, new Uint8Array(4)), /\[t\].*outside/);
  rejects(file({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /\[t\].*invalid shape/);
  rejects(
    file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)),
    /\[b\].*overlaps/,
  );
  rejects(file({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /\[a\].*gap/);
  rejects(file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8)), /trailing/);
  rejects(file({ __metadata__: { a: 1 } }), /metadata/);
});

test('a net refuses a file that lacks a tensor or holds it misshapen, binding nothing', () => {
  const net = PNet();
  const good = new Map(net.expectedTensors().map((e) => [e.name, new Tensor(e.shape)]));
  const missing = new Map(good);
  missing.delete('pnet.conv2.weight');
  assert.throws(() => net.load(missing, 'w.safetensors'), /w\.safetensors \[pnet\.conv2\.weight\]: missing/);
  assert.equal(net.trunk.children[0].params.size, 0, 'nothing bound after a failed load');
  const misshapen = new Map(good);
  misshapen.set('pnet.conv1.weight', new Tensor([10, 3, 3, 2]));
  assert.throws(() => net.load(misshapen, 'w.safetensors'), /\[pnet\.conv1\.weight\]: has shape \[10, 3, 3, 2\], expected \[10, 3, 3, 3\]/);
  const nan = new Map(good);
  nan.set('pnet.prelu1.alpha', Tensor.fromArray([10], [0, 0, NaN, 0, 0, 0, 0, 0, 0, 0]));
  assert.throws(() => net.load(nan, 'w.safetensors'), /\[pnet\.prelu1\.alpha\]: holds a non-finite value/);
  net.load(good, 'w.safetensors');
});
