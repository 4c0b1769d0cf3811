// The collection index: the SIMD scores against a float64 reference computed here, exact top k
// (order and ties), padding of odd dimensions, the file round trip (also readable by FaceIndex),
// building from a scan's JSONL, and bad input.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../src/cli/main.ts';
import { seededRandom } from '../src/collection/cluster.ts';
import { CollectionIndex } from '../src/collection/searchIndex.ts';
import { scoresModule } from '../src/collection/simdScores.ts';
import { FaceIndex, IndexFileError } from '../src/pipeline/verify.ts';

function randomVectors(n: number, dim: number, seed: number): Float32Array[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: dim }, () => random() - 0.5));
}

/** Cosine similarities in float64, sorted best first (ties: the earlier row). */
function reference(vectors: Float32Array[], query: Float32Array): { row: number; similarity: number }[] {
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const qn = norm(query);
  return vectors
    .map((v, row) => ({ row, similarity: v.reduce((s, x, k) => s + x * query[k], 0) / (norm(v) * qn) }))
    .sort((a, b) => b.similarity - a.similarity || a.row - b.row);
}

test('the SIMD kernel compiles on this engine', () => {
  assert.ok(scoresModule(), 'WebAssembly SIMD available (Node 20)');
  assert.equal(new CollectionIndex('m', 8).simd, true);
});

for (const dim of [128, 130, 3]) {
  test(`top k of ${dim}-d faces equals the float64 reference, on SIMD and on the plain loop`, () => {
    // More rows than one kernel chunk (8192), so chunk edges are crossed.
    const vectors = randomVectors(9000, dim, dim);
    const queries = randomVectors(3, dim, 1000 + dim);
    for (const simd of [true, false]) {
      const index = new CollectionIndex('test', dim, { simd });
      vectors.forEach((v, i) => index.add(`face${i}`, v));
      for (const q of queries) {
        const want = reference(vectors, q);
        const got = index.search(q, 10);
        assert.equal(got.length, 10);
        for (let i = 0; i < 10; i++) {
          assert.ok(Math.abs(got[i].similarity - want[i].similarity) < 1e-5, `rank ${i}: ${got[i].similarity} vs ${want[i].similarity}`);
          // Ranks may only differ where the reference's similarities are closer than float32 can tell.
          if (got[i].index !== want[i].row) assert.ok(Math.abs(want[i].similarity - (want[i + 1]?.similarity ?? -2)) < 1e-6 || Math.abs(want[i].similarity - (want[i - 1]?.similarity ?? 2)) < 1e-6);
          assert.equal(got[i].label, `face${got[i].index}`);
        }
      }
    }
  });
}

test('ties keep the earlier face; k larger than the index returns every face', () => {
  const index = new CollectionIndex('test', 4);
  for (const label of ['a', 'b', 'c']) index.add(label, [1, 0, 0, 0]);
  index.add('d', [0, 1, 0, 0]);
  assert.deepEqual(index.search([1, 0, 0, 0], 2).map((h) => h.label), ['a', 'b']);
  assert.deepEqual(index.search([1, 0, 0, 0], 10).map((h) => h.label), ['a', 'b', 'c', 'd']);
});

test('memory: 4 bytes a dimension a face, plus a fixed scratch area', () => {
  const dim = 128;
  const index = new CollectionIndex('test', dim);
  const empty = index.bytes;
  const vectors = randomVectors(20_000, dim, 5);
  vectors.forEach((v, i) => index.add(String(i), v));
  const perFace = (index.bytes - empty) / vectors.length;
  // Memory grows in steps (an eighth at a time), so a full index holds at most ~12.5% slack.
  assert.ok(perFace >= dim * 4 && perFace <= dim * 4 * 1.13, `${perFace} bytes a face`);
});

test('save and load round trip; FaceIndex reads the same file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-index-'));
  const vectors = randomVectors(50, 6, 9);
  const index = new CollectionIndex('mobilefacenet', 6);
  vectors.forEach((v, i) => index.add(`img${i}.jpg#0`, v));
  const file = join(dir, 'index.safetensors');
  index.save(file);
  const back = CollectionIndex.load(file);
  assert.equal(back.size, 50);
  assert.equal(back.model, 'mobilefacenet');
  assert.deepEqual(back.search(vectors[7], 3), index.search(vectors[7], 3));
  const plain = FaceIndex.load(file);
  assert.equal(plain.size, 50);
  assert.equal(plain.query(vectors[7], 1)[0].label, 'img7.jpg#0');
  // Bad files are typed errors, never crashes.
  writeFileSync(join(dir, 'bad.safetensors'), readFileSync(file).subarray(0, 40));
  assert.throws(() => CollectionIndex.load(join(dir, 'bad.safetensors')), IndexFileError);
  assert.throws(() => CollectionIndex.load(join(dir, 'absent.safetensors')), IndexFileError);
  assert.throws(() => index.add('x', [1, 2]), /6-d embeddings, got 2/);
  assert.throws(() => index.add('x', [1, 2, 3, 4, 5, NaN]), /non-finite/);
  assert.throws(() => index.add('x', [0, 0, 0, 0, 0, 0]), /all zeros/);
  assert.throws(() => index.search([1, 2, 3], 1), /query has 3/);
  assert.throws(() => index.search(vectors[0], 0), /positive integer/);
});

test('tsface index build: every embedded face of a JSONL file, labelled IMAGE#FACE', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-indexcli-'));
  const faces = join(dir, 'faces.jsonl');
  const v = randomVectors(3, 8, 4).map((x) => Array.from(x));
  const face = (embedding?: number[]) => ({ box: [0, 0, 10, 10], score: 0.99, landmarks: [], ...(embedding ? { embedding } : {}) });
  writeFileSync(faces, [
    { image: 'a.jpg', size: 1, mtime: 1, width: 20, height: 20, model: 'mobilefacenet', faces: [face(v[0]), face(v[1])] },
    { image: 'b.jpg', error: 'not a JPEG or PNG image' },
    { image: 'c.jpg', size: 1, mtime: 1, width: 20, height: 20, model: 'mobilefacenet', faces: [face(), face(v[2])] },
  ].map((l) => JSON.stringify(l)).join('\n') + '\n{"image":"torn');
  const out = join(dir, 'index.safetensors');
  assert.equal(await main(['index', 'build', faces, '--out', out]), 0);
  const index = CollectionIndex.load(out);
  assert.deepEqual(index.labels, ['a.jpg#0', 'a.jpg#1', 'c.jpg#1']);
  assert.equal(index.search(v[2], 1)[0].label, 'c.jpg#1');
  assert.equal(await main(['index', 'build', join(dir, 'absent.jsonl'), '--out', out]), 2);
});
