// Verification, search and LFW evaluation: the decisions and file formats around embeddings.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { alignFace, similarityTransform, TEMPLATE_112 } from '../src/pipeline/align.ts';
import { FaceEmbedder } from '../src/pipeline/embed.ts';
import { bestThreshold, evaluatePairs, parsePairs } from '../src/pipeline/lfw.ts';
import { cosineSimilarity, distance, FaceIndex, IndexFileError, squaredL2, verify } from '../src/pipeline/verify.ts';
import { InputValueError, WeightsError } from '../src/errors.ts';
import { BUNDLED_MTCNN } from '../src/nets/weights.ts';
import { sharedPath, sharedSkip } from './helpers/shared.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLE = join(ROOT, 'examples/astronaut.jpg');
const embedder = new FaceEmbedder();
after(() => embedder.dispose());

test('distances and the verdict', () => {
  const a = [1, 0, 0];
  const b = [0.6, 0.8, 0];
  assert.equal(cosineSimilarity(a, b), 0.6);
  assert.ok(Math.abs(squaredL2(a, b) - (2 - 2 * 0.6)) < 1e-12);
  assert.ok(Math.abs(distance(a, b) - 0.4) < 1e-12);
  assert.deepEqual(verify(a, b), { same: true, similarity: 0.6, threshold: 0.39 });
  assert.equal(verify(a, [0, 1, 0]).same, false);
  assert.throws(() => cosineSimilarity([1, 2], [1, 2, 3]));
});

test('the similarity transform maps the template onto itself exactly and recovers a known one', () => {
  const m = similarityTransform(TEMPLATE_112, TEMPLATE_112);
  assert.ok(Math.abs(m[0][0] - 1) < 1e-12 && Math.abs(m[1][0]) < 1e-12 && Math.abs(m[0][2]) < 1e-9);
  // Points rotated by 30 degrees, scaled by 2 and shifted: the inverse must be found.
  const c = Math.cos(Math.PI / 6) * 2, s = Math.sin(Math.PI / 6) * 2;
  const src = TEMPLATE_112.map(([x, y]) => [c * x - s * y + 10, s * x + c * y - 5]);
  const back = similarityTransform(src, TEMPLATE_112);
  const [[a, b0, tx], [b, d, ty]] = back;
  for (const [i, [x, y]] of src.entries()) {
    assert.ok(Math.abs(a * x + b0 * y + tx - TEMPLATE_112[i][0]) < 1e-9);
    assert.ok(Math.abs(b * x + d * y + ty - TEMPLATE_112[i][1]) < 1e-9);
  }
});

test('a face across the border is aligned with zero fill, not dropped', () => {
  const img = { width: 100, height: 100, data: new Uint8Array(30000).fill(200) };
  const across = [[-20, 50], [20, 50], [0, 65], [-15, 80], [15, 80]];
  const { crop } = alignFace(img, across, { size: 112, template: TEMPLATE_112 });
  // The template's left eye (x 38) maps to x = -20, outside: black; its right eye (x 73.5) maps inside: the image.
  assert.equal(crop.data[(51 * 112 + 20) * 3], 0);
  assert.equal(crop.data[(51 * 112 + 74) * 3], 200);
});

test('faces that cannot be aligned are typed errors', () => {
  const img = { width: 100, height: 100, data: new Uint8Array(30000) };
  const tiny = [[50, 50], [51, 50], [50.5, 51], [50, 52], [51, 52]];
  assert.throws(() => alignFace(img, tiny, { size: 112, template: TEMPLATE_112 }), InputValueError);
  assert.throws(() => alignFace(img, [[NaN, 50], [20, 50], [10, 60], [5, 80], [15, 80]], { size: 112, template: TEMPLATE_112 }), InputValueError);
  assert.throws(() => alignFace(img, [[1, 2], [3, 4]], { size: 112, template: TEMPLATE_112 }));
});

test('a weights file for another model is refused by name', () => {
  assert.throws(() => new FaceEmbedder({ weights: BUNDLED_MTCNN }), (e: unknown) => e instanceof WeightsError && /mobilefacenet\.stem\.conv\.weight.*missing/.test((e as Error).message));
});

test('FaceIndex: query order, JSON and safetensors round trips, corrupt files refused, nothing half-written', async () => {
  const { faces } = await embedder.embed(EXAMPLE);
  const index = new FaceIndex('mobilefacenet', 192);
  index.add('eileen', faces[0].embedding);
  const other = Float32Array.from(faces[0].embedding, (v, i) => (i % 2 ? -v : v));
  index.add('someone', other);
  const hits = index.query(faces[0].embedding, 2);
  assert.equal(hits[0].label, 'eileen');
  assert.ok(hits[0].similarity > 0.9999 && hits[1].similarity < hits[0].similarity);
  const dir = mkdtempSync(join(tmpdir(), 'tsface-index-'));
  for (const name of ['i.json', 'i.safetensors']) {
    index.save(join(dir, name));
    const back = FaceIndex.load(join(dir, name));
    assert.deepEqual(back.labels, index.labels);
    assert.deepEqual(back.vectors, index.vectors);
  }
  writeFileSync(join(dir, 'bad.json'), '{"format":"tsface-index-1","model":"m","dimension":3,"entries":[{"label":"x","embedding":[1,2]}]}');
  assert.throws(() => FaceIndex.load(join(dir, 'bad.json')), IndexFileError);
  writeFileSync(join(dir, 'bad2.json'), '{not json');
  assert.throws(() => FaceIndex.load(join(dir, 'bad2.json')), IndexFileError);
  writeFileSync(join(dir, 'bad.safetensors'), readFileSync(join(dir, 'i.safetensors')).subarray(0, 50));
  assert.throws(() => FaceIndex.load(join(dir, 'bad.safetensors')), IndexFileError);
  assert.throws(() => index.add('nan', new Float32Array(192).fill(NaN)));
  assert.equal(existsSync(join(dir, `i.json.partial-${process.pid}`)), false);
});

test('LFW protocol: pairs parsing, fold thresholds, TAR at FAR', () => {
  const text = '2 2\nA 1 2\nB 1 2\nA 1 B 1\nC 1 D 1\nE 1 2\nF 1 2\nE 1 F 1\nG 1 H 1\n';
  const pairs = parsePairs(text, '/nowhere');
  assert.equal(pairs.length, 8);
  assert.deepEqual(pairs.map((p) => p.same), [true, true, false, false, true, true, false, false]);
  assert.equal(pairs[2].b, '/nowhere/B_0001.jpg');
  const scores = [0.9, 0.8, 0.1, 0.2, 0.85, 0.7, 0.3, 0.15];
  const r = evaluatePairs(scores, pairs);
  assert.equal(r.accuracy, 1);
  assert.equal(r.tarAtFar1e3, 1);
  assert.ok(r.threshold > 0.3 && r.threshold < 0.7);
  assert.equal(bestThreshold([0.1, 0.9], [false, true]), 0.5);
  assert.throws(() => parsePairs('2 300\nA 1 2\n', '/x'));
});

test('eval-lfw runs the whole path on a small pairs file', { skip: sharedSkip('images/lfw-sample/') }, () => {
  const root = mkdtempSync(join(tmpdir(), 'tsface-lfw-'));
  mkdirSync(join(root, 'Anthony_Hopkins'));
  for (const i of ['0001', '0002']) copyFileSync(sharedPath(`images/lfw-sample/Anthony_Hopkins_${i}.jpg`), join(root, 'Anthony_Hopkins', `Anthony_Hopkins_${i}.jpg`));
  copyFileSync(EXAMPLE, join(root, 'Eileen_Collins_0001.jpg'));
  writeFileSync(join(root, 'pairs.txt'), '1 1\nAnthony_Hopkins 1 2\nAnthony_Hopkins 1 Eileen_Collins 1\n');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'eval-lfw', '--root', root, '--pairs', join(root, 'pairs.txt'), '--json'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.pairs, 2);
  assert.equal(out.accuracy, 1);
  assert.equal(out.noFaceDetected, 0);
  assert.match(r.stderr, /3\/3 images/);
});
