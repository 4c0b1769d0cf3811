// FaceIndex values: every embedding an index reads (JSON, safetensors, add from code) is refused
// with a typed error naming the entry unless its values are finite float32 and it is not all
// zeros; and no search (FaceIndex.query, CollectionIndex.search on SIMD and the plain loop)
// returns a non-finite score, on the fuzzer's kind of index files as well as hand-made extremes.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CollectionIndex } from '../src/collection/searchIndex.ts';
import { cosineSimilarity, FaceIndex, IndexFileError } from '../src/pipeline/verify.ts';
import { ArgumentError, TsfaceError } from '../src/errors.ts';
import { writeSafetensors } from '../src/tensor/safetensors.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { mutate, Rng } from '../tools/fuzz/mutate.ts';
import { seedsFor } from '../tools/fuzz/seeds.ts';

const dir = mkdtempSync(join(tmpdir(), 'tsface-index-values-'));

/** A JSON index whose second entry ("bo") holds `bad` (raw JSON text for one value) in each place. */
function jsonIndex(bad: string): string {
  return `{"format":"tsface-index-1","model":"m","dimension":3,"entries":[{"label":"ann","embedding":[1,0,0]},{"label":"bo","embedding":[0.5,${bad},${bad}]}]}`;
}

function stIndex(values: number[]): Uint8Array {
  return writeSafetensors({ embeddings: new Tensor([2, 3], Float32Array.from([1, 0, 0, ...values])) }, { format: 'tsface-index-1', model: 'm', labels: '["ann","bo"]' });
}

/** Every score a search of `index` can give for `query`, through both index classes and both kernels. */
function allScores(index: FaceIndex, query: ArrayLike<number>): number[] {
  const scores = index.query(query, index.size).map((h) => h.similarity);
  for (const simd of [true, false]) {
    const c = new CollectionIndex(index.model, index.dimension, { simd });
    index.labels.forEach((l, i) => c.add(l, index.vectors[i]));
    scores.push(...c.search(query, index.size).map((h) => h.similarity));
  }
  return scores;
}

test('index files with values beyond float32, non-finite or all zeros are refused, naming the entry', () => {
  // 1e200 and -1e308 are the fuzzer's finds: finite in JSON, infinite as float32.
  for (const bad of ['1e200', '-1e308', '3.5e38', '1e309']) {
    const file = join(dir, 'bad.json');
    writeFileSync(file, jsonIndex(bad));
    for (const load of [() => FaceIndex.load(file), () => CollectionIndex.load(file)]) {
      assert.throws(load, (e: unknown) => e instanceof IndexFileError && /bad\.json: entry 1 \("bo"\): embedding holds/.test(e.message), bad);
    }
  }
  // Below float32's smallest subnormal every value rounds to zero: no direction left.
  const tiny = join(dir, 'tiny.json');
  writeFileSync(tiny, jsonIndex('1e-46').replace('0.5', '0'));
  assert.throws(() => FaceIndex.load(tiny), (e: unknown) => e instanceof IndexFileError && /entry 1 \("bo"\): embedding is all zeros/.test(e.message));
  writeFileSync(join(dir, 'str.json'), jsonIndex('"1"'));
  assert.throws(() => FaceIndex.load(join(dir, 'str.json')), (e: unknown) => e instanceof IndexFileError && /entry 1 \("bo"\): embedding is not 3 numbers/.test(e.message));

  for (const [values, reason] of [[[0, Infinity, 1], /non-finite value \(Infinity at position 1\)/], [[NaN, 0, 1], /non-finite value \(NaN at position 0\)/], [[0, 0, 0], /all zeros/]] as const) {
    const file = join(dir, 'bad.safetensors');
    writeFileSync(file, stIndex([...values]));
    for (const load of [() => FaceIndex.load(file), () => CollectionIndex.load(file)]) {
      assert.throws(load, (e: unknown) => e instanceof IndexFileError && /entry 1 \("bo"\): embedding /.test(e.message) && reason.test(e.message), String(values));
    }
  }
});

test('add from code refuses the same values, naming the entry', () => {
  for (const bad of [[1e200, 0, 0], [0, -1e308, 0], [NaN, 1, 1], [0, 0, 0], [1e-300, 0, 0], [-Infinity, 1, 1]]) {
    const f = new FaceIndex('m', 3);
    f.add('ok', [1, 2, 3]);
    assert.throws(() => f.add('x', bad), (e: unknown) => e instanceof ArgumentError && /embedding of entry 1 \("x"\) (holds|is all zeros)/.test(e.message), String(bad));
    assert.equal(f.size, 1);
    for (const simd of [true, false]) {
      const c = new CollectionIndex('m', 3, { simd });
      assert.throws(() => c.add('x', bad), (e: unknown) => e instanceof ArgumentError && /embedding of row 0 \("x"\) (holds|is all zeros)/.test(e.message), String(bad));
      assert.equal(c.size, 0);
    }
  }
});

test('extreme but valid values give finite scores, and huge queries are scaled, not overflowed', () => {
  const max = 3.4028234663852886e38;
  const index = new FaceIndex('m', 3);
  index.add('huge', [max, max, 0]);
  index.add('negative', [-max, 0, -max]);
  index.add('subnormal', [1e-45, 0, 0]);
  index.add('plain', [0, 0.6, 0.8]);
  const file = join(dir, 'extreme.safetensors');
  index.save(file);
  const back = FaceIndex.load(file);
  assert.deepEqual(back.vectors, index.vectors);
  for (const query of [[1e300, 1e300, 0], [-1e308, -1e308, -1e308], [1e-300, 0, 1e-310], [max, max, max], [5e-324, 0, 0], [1, 2, 3]]) {
    const scores = allScores(back, query);
    assert.ok(scores.every((s) => Number.isFinite(s) && Math.abs(s) <= 1 + 1e-6), `${query}: ${scores}`);
  }
  // Directions survive the scaling: [1e300, 1e300, 0] is 'huge' exactly.
  assert.equal(back.query([1e300, 1e300, 0], 1)[0].label, 'huge');
  assert.ok(Math.abs(back.query([1e300, 1e300, 0], 1)[0].similarity - 1) < 1e-6);
  assert.ok(Math.abs(cosineSimilarity([1e200, 1e200], [1e200, -1e200])) < 1e-12);
  assert.ok(Math.abs(cosineSimilarity([1e-200, 0], [3e-200, 0]) - 1) < 1e-12);
  assert.ok(Number.isNaN(cosineSimilarity([NaN, 1], [1, 1])));
  // A query with no direction or a non-finite value is refused by every search.
  for (const query of [[0, 0, 0], [NaN, 1, 1], [Infinity, 0, 0]]) {
    assert.throws(() => back.query(query), ArgumentError);
    assert.throws(() => CollectionIndex.load(file).search(query), ArgumentError);
  }
});

test('fuzzed index files: accepted ones never give a non-finite score', () => {
  const seeds = [...seedsFor('faceindex'), ...['1e200', '-1e308', '1e38', '1e-40'].map((v) => new TextEncoder().encode(jsonIndex(v)))];
  const queries = [[1, 0, 0], [1e300, -1e300, 1], [0, 0, 1e-300], [-3e38, 3e38, 3e38]];
  const rng = new Rng(28);
  let accepted = 0;
  for (let n = 0; n < 3000; n++) {
    const bytes = n < seeds.length ? seeds[n] : mutate(seeds[rng.below(seeds.length)], seeds[rng.below(seeds.length)], rng);
    let index: FaceIndex;
    try {
      index = FaceIndex.parse(bytes, bytes[0] === 0x7b ? 'fuzz.json' : 'fuzz.safetensors');
    } catch (e) {
      assert.ok(e instanceof TsfaceError, String(e));
      continue;
    }
    if (index.size === 0) continue;
    accepted++;
    for (const q of queries) {
      const query = Array.from({ length: index.dimension }, (_, i) => q[i % 3]);
      if (query.every((v) => v === 0)) continue;
      const scores = allScores(index, query);
      assert.ok(scores.every(Number.isFinite), `case ${n}: ${scores}`);
    }
  }
  assert.ok(accepted >= 30, `only ${accepted} fuzzed files were accepted`);
});
