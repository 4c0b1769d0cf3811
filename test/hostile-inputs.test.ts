// Index files, LFW pairs lists and crosscheck references written by someone hostile: each is
// a typed error naming the file and the problem, never a wrong value or a stack trace.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { loadReference } from '../src/inspect/crosscheck.ts';
import { parsePairs } from '../src/pipeline/lfw.ts';
import { FaceIndex, IndexFileError } from '../src/pipeline/verify.ts';
import { ArgumentError, TsfaceError } from '../src/errors.ts';
import { writeSafetensors } from '../src/tensor/safetensors.ts';
import { Tensor } from '../src/tensor/tensor.ts';

const dir = mkdtempSync(join(tmpdir(), 'tsface-inputs-'));

test('FaceIndex: labels must be strings, the dimension positive', () => {
  const entry = (label: unknown) => ({ format: 'tsface-index-1', model: 'm', dimension: 2, entries: [{ label, embedding: [1, 0] }] });
  for (const label of [null, 7, { a: 1 }, ['x'], true]) {
    assert.throws(() => FaceIndex.fromJSON(entry(label), 'i.json'), (e: unknown) => e instanceof IndexFileError && /i\.json: entry 0: label is \w+, not a string/.test(e.message), JSON.stringify(label));
  }
  for (const dimension of [0, -3, 1.5]) {
    assert.throws(() => FaceIndex.fromJSON({ format: 'tsface-index-1', model: 'm', dimension, entries: [] }, 'd.json'), IndexFileError, String(dimension));
  }
  assert.throws(() => new FaceIndex('m', 0), ArgumentError);
  const st = join(dir, 'labels.safetensors');
  for (const labels of ['[null]', '[3]', '[{"a":1}]']) {
    writeFileSync(st, writeSafetensors({ embeddings: new Tensor([1, 2], Float32Array.from([1, 0])) }, { format: 'tsface-index-1', model: 'm', labels }));
    assert.throws(() => FaceIndex.load(st), (e: unknown) => e instanceof IndexFileError && /label 0 is \w+, not a string/.test(e.message), labels);
  }
  writeFileSync(st, writeSafetensors({ embeddings: new Tensor([0, 0]) }, { format: 'tsface-index-1', model: 'm', labels: '[]' }));
  assert.throws(() => FaceIndex.load(st), /dimension 0 is not a positive integer/);
  // Saving into a folder that does not exist, or onto a directory: one-line errors, nothing left behind.
  const index = new FaceIndex('m', 2);
  index.add('a', [1, 0]);
  assert.throws(() => index.save(join(dir, 'missing', 'x.json')), (e: unknown) => e instanceof IndexFileError && /folder .*missing does not exist/.test(e.message));
  mkdirSync(join(dir, 'taken.json'));
  assert.throws(() => index.save(join(dir, 'taken.json')), /a directory of that name is in the way/);
  index.save(join(dir, 'ok.json'));
  assert.deepEqual(FaceIndex.load(join(dir, 'ok.json')).labels, ['a']);
});

test('LFW pairs: plain names, positive integer numbers, paths inside the root', () => {
  const root = join(dir, 'lfw');
  const good = parsePairs('1 1\nAaron_Peirsol 1 0004\nA_B 2 C-D 3\n', root, 'p.txt');
  assert.equal(good[0].b, resolve(root, 'Aaron_Peirsol_0004.jpg'));
  for (const p of good) for (const f of [p.a, p.b]) assert.ok(f.startsWith(resolve(root) + '/'), f);
  const bad: [string, RegExp][] = [
    ['1 1\n../../../../etc/passwd 1 2\nA 1 B 2\n', /line 2: "\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd" is not a plain name/],
    ['1 1\n.. 1 2\nA 1 B 2\n', /"\.\." is not a plain name/],
    ['1 1\nA 0 2\nA 1 B 2\n', /image number "0" is not a positive integer/],
    ['1 1\nA 1.5 2\nA 1 B 2\n', /image number "1\.5"/],
    ['1 1\nA NaN 2\nA 1 B 2\n', /image number "NaN"/],
    ['1 1\nA -1 2\nA 1 B 2\n', /image number "-1"/],
    ['1 1\nA 1 2\nA 1 B 1e3\n', /image number "1e3"/],
    ['1 1\nA 1 2\nA 1 B\\x 2\n', /"B\\x" is not a plain name|not a plain name/],
    ['0 1\nA 1 2\n', /first line/],
    ['1.5 1\nA 1 2\n', /first line/],
    ['1 1 1\nA 1 2\nA 1 B 2\n', /first line/],
  ];
  for (const [text, pattern] of bad) assert.throws(() => parsePairs(text, root, 'p.txt'), (e: unknown) => e instanceof ArgumentError && /^p\.txt: /.test(e.message) && pattern.test(e.message), text);
});

test('crosscheck: 300 mutations of a reference index.json give typed errors, never crashes', () => {
  const ref = join(dir, 'ref');
  mkdirSync(ref);
  const npy = (values: number[]) => {
    const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${values.length},), }`.padEnd(117) + '\n';
    return Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length, 0]), Buffer.from(header), Buffer.from(new Float32Array(values).buffer)]);
  };
  writeFileSync(join(ref, 'in.npy'), npy([1, 2, 3]));
  writeFileSync(join(ref, 'c1.npy'), npy([4, 5]));
  const valid = JSON.stringify({ nets: { pnet: { input: { file: 'in.npy' }, layers: [{ name: 'conv1', file: 'c1.npy' }, { name: 'prelu1', file: 'c1.npy' }] } } });
  writeFileSync(join(ref, 'index.json'), valid);
  assert.equal(loadReference(ref, 'pnet').layers.size, 2);
  let seed = 12345;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const tokens = ['null', '1', '"x"', '[]', '{}', '"../../etc/passwd"', '"/etc/hostname"', 'true', '"in.npy"', '-1'];
  let typed = 0;
  for (let t = 0; t < 300; t++) {
    let text = valid;
    for (let k = 0, edits = 1 + rand(3); k < edits; k++) {
      const at = rand(text.length);
      const choice = rand(3);
      if (choice === 0) text = text.slice(0, at) + text.slice(at + 1 + rand(8));
      else if (choice === 1) text = text.slice(0, at) + tokens[rand(tokens.length)] + text.slice(at);
      else {
        // Replace one JSON value after a colon with a token of another type.
        const colon = text.indexOf(':', at);
        if (colon < 0) continue;
        const end = text.slice(colon + 1).search(/[,}\]]/);
        text = text.slice(0, colon + 1) + tokens[rand(tokens.length)] + text.slice(colon + 1 + Math.max(end, 0));
      }
    }
    writeFileSync(join(ref, 'index.json'), text);
    try {
      loadReference(ref, 'pnet');
    } catch (e) {
      assert.ok(e instanceof TsfaceError, `mutation ${t} (${text}): ${(e as Error).stack}`);
      assert.doesNotMatch(e.message, /Cannot read|is not iterable/, text);
      typed++;
    }
  }
  assert.ok(typed > 100, `only ${typed} of 300 mutations refused`);
  // Only .npy files are ever read through an index, and only by relative paths.
  writeFileSync(join(ref, 'index.json'), JSON.stringify({ input_file: '../../../etc/hostname', layers: [] }));
  assert.throws(() => loadReference(ref, 'nn4.small2.v1'), /input: \.\.\/\.\.\/\.\.\/etc\/hostname is not an \.npy file/);
  writeFileSync(join(ref, 'index.json'), JSON.stringify({ layers: [{ name: 'a', file: '/etc/x.npy' }] }));
  assert.throws(() => loadReference(ref, 'nn4.small2.v1'), /layer a: \/etc\/x\.npy is not a path relative to/);
});
