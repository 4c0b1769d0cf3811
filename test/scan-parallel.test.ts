// `tsface scan` with photo threads (src/collection/photoPool.ts): several photos at once, each on
// a thread of its own, write the very bytes of a one-thread scan in the same order; a bad photo
// fails only its own line; an abort or a kill leaves whole lines that --resume finishes; a thread
// that cannot load its nets fails the scan with the typed error and leaves no file.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { parseLine } from '../src/collection/jsonl.ts';
import { PhotoPool } from '../src/collection/photoPool.ts';
import { runScan } from '../src/collection/scan.ts';
import { toRgbImage } from '../src/image/decode.ts';
import { openFaceCachePath } from '../src/io/cachePaths.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { AbortedError, TsfaceError } from '../src/errors.ts';
import { SHARED } from './helpers/shared.ts';
import { scanKilledAfterTwoLines } from './helpers/killedScan.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ASTRONAUT = join(ROOT, 'examples/astronaut.jpg');
const MULTIFACE = join(SHARED, 'images/multiface.jpg');
const backend = new CpuBackend({ threads: 1 });
after(() => backend.dispose());

/** The example photo scaled by 1/k (box filter), mirrored when asked: PNGs of other sizes and content. */
function variant(k: number, mirror: boolean): Buffer {
  const img = toRgbImage(ASTRONAUT);
  const w = Math.floor(img.width / k), h = Math.floor(img.height / k);
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = mirror ? w - 1 - x : x;
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) sum += img.data[((k * y + dy) * img.width + k * sx + dx) * 3 + c];
        png.data[(y * w + x) * 4 + c] = Math.round(sum / (k * k));
      }
      png.data[(y * w + x) * 4 + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

/** Good photos of several sizes (and the shared group photo when there), with bad files among them. */
function mixedFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-photothreads-'));
  copyFileSync(ASTRONAUT, join(dir, 'a.jpg'));
  writeFileSync(join(dir, 'b.png'), variant(2, false));
  writeFileSync(join(dir, 'c.jpg'), readFileSync(ASTRONAUT).subarray(0, 2500)); // truncated
  writeFileSync(join(dir, 'd.png'), variant(3, true));
  writeFileSync(join(dir, 'e.jpg'), 'not a picture at all\n');
  writeFileSync(join(dir, 'f.png'), variant(2, true));
  if (existsSync(MULTIFACE)) copyFileSync(MULTIFACE, join(dir, 'g.jpg'));
  else console.warn('\n!!! ../shared/images/multiface.jpg is absent: the photo-thread scan runs without a group photo !!!\n');
  copyFileSync(ASTRONAUT, join(dir, 'h.jpg'));
  return dir;
}

test('two photo threads write the bytes of a one-thread scan, in walk order; bad files fail only their own lines', async () => {
  const dir = mixedFolder();
  const one = join(dir, 'one.jsonl');
  const two = join(dir, 'two.jsonl');
  const s1 = await runScan({ inputs: [dir], out: one, backend, embed: true, progress: null });
  const s2 = await runScan({ inputs: [dir], out: two, backend, embed: true, progress: null, photoThreads: 2 });
  assert.equal(readFileSync(two, 'utf8'), readFileSync(one, 'utf8'));
  assert.deepEqual({ ...s2, seconds: 0 }, { ...s1, seconds: 0 });
  const lines = readFileSync(two, 'utf8').split('\n').filter(Boolean).map((t) => parseLine(t)!);
  const names = lines.map((l) => l.image.slice(dir.length + 1));
  assert.deepEqual(names.filter((n) => n.endsWith('.jsonl')), []);
  assert.deepEqual(lines.filter((l) => l.error).map((l) => l.image.slice(dir.length + 1)), ['c.jpg', 'e.jpg']);
  for (const l of lines.filter((x) => !x.error)) {
    assert.ok(l.faces!.length >= 1, `${l.image}: a face`);
    for (const f of l.faces!) assert.equal(f.embedding?.length, 192, `${l.image}: embedded`);
  }
  assert.match(lines[names.indexOf('c.jpg')].error!, /JPEG/);
  assert.match(lines[names.indexOf('e.jpg')].error!, /not a JPEG or PNG/);
});

test('a pool the caller started serves several scans and refuses other settings', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-photopool-'));
  for (const [name, k] of [['a.png', 3], ['b.png', 4], ['c.png', 3]] as const) writeFileSync(join(dir, name), variant(k, name === 'b.png'));
  const pool = await PhotoPool.start(2, { embed: true });
  try {
    const one = join(dir, 'one.jsonl');
    await runScan({ inputs: [dir], out: one, backend, embed: true, progress: null });
    for (const name of ['p1.jsonl', 'p2.jsonl']) {
      await runScan({ inputs: [dir], out: join(dir, name), backend, embed: true, progress: null, photoThreads: pool });
      assert.equal(readFileSync(join(dir, name), 'utf8'), readFileSync(one, 'utf8'));
    }
    await assert.rejects(runScan({ inputs: [dir], out: join(dir, 'x.jsonl'), backend, progress: null, photoThreads: pool }), /photo pool scans with/);
  } finally {
    await pool.dispose();
  }
});

test('an abort stops the photo threads between photos; the whole lines left behind resume to the full output', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-photoabort-'));
  const images = join(dir, 'images');
  mkdirSync(images);
  const small = variant(4, false);
  for (let i = 0; i < 24; i++) writeFileSync(join(images, `p${String(i).padStart(2, '0')}.png`), small);
  const out = join(dir, 'faces.jsonl');
  const stop = new AbortController();
  // The first line written fires the abort: at most the photos then in flight (4) can follow it.
  const progress = { isTTY: true, write: () => stop.abort(new Error('enough')) };
  await assert.rejects(runScan({ inputs: [images], out, backend, embed: true, progress, photoThreads: 2, signal: stop.signal }), (e: unknown) => e instanceof AbortedError && /enough/.test((e as Error).message));
  const kept = readFileSync(out, 'utf8');
  assert.ok(kept.endsWith('\n'), 'only whole lines');
  const before = kept.split('\n').filter(Boolean).length;
  assert.ok(before >= 1 && before <= 4, `${before} lines before the abort took hold`);
  const resumed = await runScan({ inputs: [images], out, backend, embed: true, resume: true, progress: null, photoThreads: 2 });
  assert.equal(resumed.skipped, before);
  const whole = join(dir, 'whole.jsonl');
  await runScan({ inputs: [images], out: whole, backend, embed: true, progress: null });
  assert.equal(readFileSync(out, 'utf8'), readFileSync(whole, 'utf8'));
  // An abort before the start writes nothing and starts no thread.
  const early = join(dir, 'early.jsonl');
  await assert.rejects(runScan({ inputs: [images], out: early, backend, embed: true, progress: null, photoThreads: 2, signal: AbortSignal.abort() }), AbortedError);
  assert.equal(existsSync(early), false);
});

test('tsface scan --threads 2 killed mid-run, then --resume, gives the lines of an uninterrupted scan', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-photokill-'));
  const images = join(dir, 'images');
  mkdirSync(images);
  const small = variant(2, false);
  const names = Array.from({ length: 30 }, (_, i) => `p${String(i).padStart(2, '0')}.png`);
  for (const name of names) writeFileSync(join(images, name), small);
  const killed = join(dir, 'killed.jsonl');
  await scanKilledAfterTwoLines(images, killed, 2);
  const before = readFileSync(killed, 'utf8').split('\n').filter(Boolean).length;
  assert.ok(before >= 2 && before < names.length, `killed mid-scan (${before} of ${names.length} lines)`);
  const resumed = await runScan({ inputs: [images], out: killed, backend, embed: true, resume: true, progress: null, photoThreads: 2 });
  assert.equal(resumed.scanned, names.length - resumed.skipped);
  const whole = join(dir, 'whole.jsonl');
  await runScan({ inputs: [images], out: whole, backend, embed: true, progress: null });
  assert.deepEqual(readFileSync(killed, 'utf8').split('\n').sort(), readFileSync(whole, 'utf8').split('\n').sort());
});

test('a photo thread that cannot load its nets fails the scan with the typed error and writes no file', { skip: existsSync(openFaceCachePath()) && 'the OpenFace weights are fetched here, so every thread loads them' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-photofail-'));
  copyFileSync(ASTRONAUT, join(dir, 'a.jpg'));
  copyFileSync(ASTRONAUT, join(dir, 'b.jpg'));
  const out = join(dir, 'faces.jsonl');
  await assert.rejects(
    runScan({ inputs: [dir], out, backend, embed: true, model: 'nn4.small2.v1', progress: null, photoThreads: 2 }),
    (e: unknown) => e instanceof TsfaceError && /weights fetch openface/.test((e as Error).message),
  );
  assert.equal(existsSync(out), false);
});
