// `tsface detect` as a user runs it: JSON shape, per-image errors, exit codes, pictures.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLE = 'examples/astronaut.jpg';

function tsface(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('detect --json prints exactly one JSON array in the documented shape', () => {
  const r = tsface('detect', EXAMPLE, '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.length, 1);
  assert.deepEqual(Object.keys(out[0]), ['image', 'width', 'height', 'faces']);
  assert.equal(out[0].image, EXAMPLE);
  assert.deepEqual(Object.keys(out[0].faces[0]), ['box', 'score', 'landmarks']);
  assert.equal(out[0].faces[0].box.length, 4);
  assert.equal(out[0].faces[0].landmarks.length, 5);
});

test('one unreadable image is reported in its entry, the others still run, exit code 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-'));
  const broken = join(dir, 'broken.jpg');
  writeFileSync(broken, readFileSync(join(ROOT, EXAMPLE)).subarray(0, 5000));
  const r = tsface('detect', broken, EXAMPLE, '--json', '--draw', dir);
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout);
  assert.equal(out.length, 2);
  assert.match(out[0].error, /JPEG/);
  assert.equal(out[1].faces.length, 1);
  assert.match(r.stderr, /\[1\/2\] .*error/);
  assert.match(r.stderr, /\[2\/2\] .*1 face/);
  // Only the successful image is drawn, and nothing half-written is left behind.
  assert.deepEqual(readdirSync(dir).sort(), ['astronaut.png', 'broken.jpg']);
  const png = PNG.sync.read(readFileSync(join(dir, 'astronaut.png')));
  assert.deepEqual([png.width, png.height], [512, 512]);
});

test('bad arguments are errors with a usage hint, not crashes', () => {
  const none = tsface('detect');
  assert.equal(none.code, 2);
  assert.match(none.stderr, /usage/);
  assert.equal(tsface('detect', EXAMPLE, '--min-face', 'abc').code, 2);
  assert.equal(tsface('detect', EXAMPLE, '--bogus').code, 2);
  assert.equal(tsface('frobnicate').code, 2);
});

test('--explain reports every stage', () => {
  const r = tsface('detect', EXAMPLE, '--explain');
  assert.equal(r.code, 0);
  for (const stage of ['pyramid', 'P-Net', 'R-Net', 'O-Net', 'time ms']) assert.match(r.stderr, new RegExp(stage));
});

test('embed --json, index add, search and align as documented', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-embed-'));
  const r = tsface('embed', EXAMPLE, '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(out[0]), ['image', 'faces']);
  assert.deepEqual(Object.keys(out[0].faces[0]), ['box', 'score', 'embedding']);
  assert.equal(out[0].faces[0].embedding.length, 192);
  const index = join(dir, 'people.json');
  assert.equal(tsface('index', 'add', index, '--label', 'eileen', EXAMPLE).code, 0);
  const s = tsface('search', '--index', index, EXAMPLE, '--json');
  assert.equal(s.code, 0, s.stderr);
  const hits = JSON.parse(s.stdout).hits;
  assert.equal(hits[0].label, 'eileen');
  assert.equal(hits[0].same, true);
  writeFileSync(join(dir, 'corrupt.json'), '{"format": 3');
  const bad = tsface('search', '--index', join(dir, 'corrupt.json'), EXAMPLE);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /corrupt\.json: not valid JSON/);
  assert.equal(tsface('align', EXAMPLE, '--out', dir).code, 0);
  const crop = PNG.sync.read(readFileSync(join(dir, 'astronaut_0.png')));
  assert.deepEqual([crop.width, crop.height], [112, 112]);
});

test('weights convert-openface lists what is missing, refuses without stand-ins, and the result is refused as OpenFace', { skip: existsSync(join(ROOT, '../shared/models/openface-nn4.small2.v1/csv')) ? false : 'SKIPPING: ../shared absent' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-of-'));
  const csv = join(ROOT, '../shared/models/openface-nn4.small2.v1/csv');
  const refused = tsface('weights', 'convert-openface', '--csv', csv, '--out', join(dir, 'nn4.safetensors'));
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /5 tensors are missing: inception_3c_3x3_conv2_w/);
  assert.equal(existsSync(join(dir, 'nn4.safetensors')), false, 'nothing written');
  const ok = tsface('weights', 'convert-openface', '--csv', csv, '--out', join(dir, 'nn4.safetensors'), '--stand-ins', '1000');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /NOT OpenFace/);
  assert.match(ok.stderr, /inception_5a_3x3_conv2_m/);
  const embed = tsface('embed', EXAMPLE, '--model', 'nn4.small2.v1', '--weights', join(dir, 'nn4.safetensors'));
  assert.equal(embed.code, 2);
  assert.match(embed.stderr, /refuses to present its embeddings as OpenFace/);
  const absent = tsface('embed', EXAMPLE, '--model', 'nn4.small2.v1', '--weights', join(dir, 'absent.safetensors'));
  assert.match(absent.stderr, /weights fetch openface/);
});

/** No Node stack trace, no "internal error": one line per problem on stderr. */
function oneLine(stderr: string): void {
  assert.doesNotMatch(stderr, /\n\s+at |internal error|Error: /, stderr);
}

test('--draw: same base name from two folders, a file in the way, a directory in the way', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-draw-'));
  const [a, b] = [join(dir, 'a'), join(dir, 'b')];
  mkdirSync(a);
  mkdirSync(b);
  copyFileSync(join(ROOT, EXAMPLE), join(a, 'photo.jpg'));
  copyFileSync(join(ROOT, EXAMPLE), join(b, 'photo.jpg'));
  const out = join(dir, 'out');
  const r = tsface('detect', join(a, 'photo.jpg'), join(b, 'photo.jpg'), '--json', '--draw', out);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(out).sort(), ['photo-2.png', 'photo.png']);
  // --draw names an existing file: one line, exit 2.
  const file = join(dir, 'a', 'photo.jpg');
  const clash = tsface('detect', EXAMPLE, '--draw', file);
  assert.equal(clash.code, 2);
  assert.match(clash.stderr, /--draw .*photo\.jpg: exists and is not a folder/);
  oneLine(clash.stderr);
  // The drawing's name is taken by a directory: one error entry for that image, nothing left behind.
  const taken = join(dir, 'taken');
  mkdirSync(join(taken, 'astronaut.png'), { recursive: true });
  const t = tsface('detect', EXAMPLE, '--json', '--draw', taken);
  assert.equal(t.code, 1);
  const entries = JSON.parse(t.stdout);
  assert.equal(entries.length, 1);
  assert.match(entries[0].error, /a directory of that name is in the way/);
  assert.deepEqual(readdirSync(taken), ['astronaut.png']);
});

test('batch commands go on past a bad image; file-system problems are one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-batch-'));
  const bad = join(dir, 'bad.jpg');
  writeFileSync(bad, 'not an image');
  const align = tsface('align', bad, EXAMPLE, '--out', join(dir, 'crops'));
  assert.equal(align.code, 1);
  assert.match(align.stderr, /bad\.jpg: error: .*not a JPEG or PNG/);
  oneLine(align.stderr);
  assert.deepEqual(readdirSync(join(dir, 'crops')), ['astronaut_0.png']);
  const index = join(dir, 'people.json');
  const add = tsface('index', 'add', index, '--label', 'eileen', bad, EXAMPLE);
  assert.equal(add.code, 1);
  assert.match(add.stdout, /people\.json: 1 embeddings \(1 image skipped\)/);
  const missing = tsface('index', 'add', join(dir, 'no', 'such', 'folder', 'i.json'), '--label', 'x', EXAMPLE);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /folder .*folder does not exist/);
  oneLine(missing.stderr);
  const zero = tsface('detect', '/dev/zero');
  assert.equal(zero.code, 1);
  assert.match(zero.stderr, /\/dev\/zero: error: is a character device, not a regular file/);
  const absent = tsface('compare', join(dir, 'absent.jpg'), EXAMPLE, '--json');
  assert.equal(absent.code, 2);
  assert.match(absent.stderr, /absent\.jpg: cannot read: ENOENT/);
  oneLine(absent.stderr);
});

test('--decoder picks the JPEG decoder (tsface by default, jpeg-js on request) and refuses others', () => {
  const photo = join(ROOT, 'examples', 'astronaut.jpg');
  const box = (r: ReturnType<typeof tsface>) => JSON.parse(r.stdout)[0].faces[0].box as number[];
  const own = tsface('detect', photo, '--json');
  const same = tsface('detect', photo, '--json', '--decoder', 'tsface');
  const other = tsface('detect', photo, '--json', '--decoder', 'jpeg-js');
  assert.equal(own.code, 0, own.stderr);
  assert.equal(other.code, 0, other.stderr);
  assert.deepEqual(box(same), box(own));
  // jpeg-js's pixels differ from libjpeg-turbo's, and so does the box.
  assert.notDeepEqual(box(other), box(own));
  const bad = tsface('detect', photo, '--decoder', 'libjpeg');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--decoder must be tsface or jpeg-js/);
});
