// `tsface scan`: the walk (extensions, symlinks, loops), one line per image for good and bad
// files, --resume after a killed run, progress output, and the command line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { toRgbImage } from '../src/image/decode.ts';
import { main } from '../src/cli/main.ts';
import { parseLine, type ImageLine } from '../src/collection/jsonl.ts';
import { Progress } from '../src/collection/progress.ts';
import { runScan } from '../src/collection/scan.ts';
import { walkImages } from '../src/collection/walk.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { encodePng } from './helpers/png.ts';
import { scanKilledAfterTwoLines } from './helpers/killedScan.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ASTRONAUT = join(ROOT, 'examples/astronaut.jpg');
const backend = new CpuBackend();
after(() => backend.dispose());

function lines(file: string): ImageLine[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((t) => {
    const line = parseLine(t);
    assert.ok(line, `not an image line: ${t.slice(0, 80)}`);
    return line;
  });
}

/** The example photo at half size as PNG: a quicker image to scan many times. */
function halfSize(file: string): Buffer {
  const img = toRgbImage(file);
  const w = img.width >> 1, h = img.height >> 1;
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        const at = (dy: number, dx: number) => img.data[((2 * y + dy) * img.width + 2 * x + dx) * 3 + c];
        png.data[(y * w + x) * 4 + c] = (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1) + 2) >> 2;
      }
      png.data[(y * w + x) * 4 + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

const sortedText = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).sort();

test('walk: image names in any case, symlinked folders followed once, a symlink loop ends', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-walk-'));
  mkdirSync(join(dir, 'a/b'), { recursive: true });
  for (const name of ['one.JPG', 'two.jpeg', 'three.Png', 'notes.txt', 'a/four.jpg', 'a/b/five.PNG']) writeFileSync(join(dir, name), 'x');
  symlinkSync(join(dir, 'a'), join(dir, 'a/b/loop')); // a/b/loop -> a: a cycle
  symlinkSync(join(dir, 'a'), join(dir, 'alias')); // the same folder reached twice
  symlinkSync(join(dir, 'missing.jpg'), join(dir, 'dangling.jpg'));
  const entries = [...walkImages([dir])];
  const rel = (p: string) => p.slice(dir.length + 1);
  assert.deepEqual(entries.map((e) => rel(e.path)), ['a/b/five.PNG', 'a/four.jpg', 'dangling.jpg', 'one.JPG', 'three.Png', 'two.jpeg']);
  assert.match((entries[2] as { error: string }).error, /cannot read: ENOENT/);
  for (const e of entries) if (!('error' in e)) assert.equal(e.size, 1);
  // A file named on the command line is taken whatever its name; a missing one is an error entry.
  const named = [...walkImages([join(dir, 'notes.txt'), join(dir, 'nope.jpg')])];
  assert.equal(named.length, 2);
  assert.ok(!('error' in named[0]));
  assert.match((named[1] as { error: string }).error, /ENOENT/);
});

test('corrupt, truncated, zero-byte, huge-declared and non-image files each get an error line, the scan goes on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-bad-'));
  const jpeg = readFileSync(ASTRONAUT);
  copyFileSync(ASTRONAUT, join(dir, 'good.jpg'));
  writeFileSync(join(dir, 'truncated.jpg'), jpeg.subarray(0, 3000));
  writeFileSync(join(dir, 'zero.png'), new Uint8Array(0));
  const noise = new Uint8Array(4096);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  writeFileSync(join(dir, 'corrupt.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), noise]));
  const huge = Buffer.from(encodePng(2, 2, 2, 8, new Array(12).fill(128)));
  huge.writeUInt32BE(100_000, 16); // IHDR width and height: 10^10 pixels declared
  huge.writeUInt32BE(100_000, 20);
  huge.writeUInt32BE(crc32(huge.subarray(12, 29)), 29); // a valid IHDR: only the size is absurd
  writeFileSync(join(dir, 'huge.png'), huge);
  writeFileSync(join(dir, 'text.jpg'), 'this is not a picture\n');
  const out = join(dir, 'faces.jsonl');
  const summary = await runScan({ inputs: [dir], out, backend, progress: null });
  const got = lines(out);
  assert.equal(got.length, 6);
  assert.equal(summary.errors, 5);
  const byName = new Map(got.map((l) => [l.image.slice(dir.length + 1), l]));
  assert.equal(byName.get('good.jpg')!.faces!.length, 1);
  assert.equal(byName.get('good.jpg')!.width, 512);
  assert.match(byName.get('truncated.jpg')!.error!, /JPEG/);
  assert.match(byName.get('zero.png')!.error!, /not a JPEG or PNG/);
  assert.match(byName.get('corrupt.jpg')!.error!, /JPEG/);
  assert.match(byName.get('huge.png')!.error!, /megapixels, over the limit/);
  assert.match(byName.get('text.jpg')!.error!, /not a JPEG or PNG/);
  for (const l of got) {
    assert.ok(!l.error || !l.error.startsWith(l.image), 'the error does not repeat the path');
    assert.equal(typeof l.size, 'number', 'every readable file records its size for --resume');
  }
});

test('--resume after a scan killed mid-run gives the lines of an uninterrupted scan', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-resume-'));
  const images = join(dir, 'images');
  mkdirSync(join(images, 'sub'), { recursive: true });
  // Enough images that the child cannot finish them all between two looks at its output, even
  // when this process is starved for a while by other work on the machine.
  const names = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? `sub/p${i}.png` : `p${i}.png`));
  const small = halfSize(ASTRONAUT);
  for (const name of names) writeFileSync(join(images, name), small);
  const killed = join(dir, 'killed.jsonl');
  await scanKilledAfterTwoLines(images, killed, 1);
  const before = lines(killed).length;
  assert.ok(before >= 2 && before < names.length, `killed mid-scan (${before} of ${names.length} lines)`);
  // A crash can also leave half a line behind; resume must cut it off.
  appendFileSync(killed, '{"image":"' + join(images, 'p9.png') + '","size":76');
  const resumed = await runScan({ inputs: [images], out: killed, backend, embed: true, resume: true, progress: null });
  assert.equal(resumed.skipped, before);
  assert.equal(resumed.scanned, names.length - before);
  const whole = join(dir, 'whole.jsonl');
  await runScan({ inputs: [images], out: whole, backend, embed: true, progress: null });
  assert.deepEqual(sortedText(killed), sortedText(whole));
  const embedding = lines(whole)[0].faces![0].embedding!;
  assert.ok(Math.abs(Math.hypot(...embedding) - 1) < 1e-5, 'embeddings are unit vectors');

  // A file changed since its line was written is scanned again and its old line dropped.
  utimesSync(join(images, 'p1.png'), new Date(2001, 0, 1), new Date(2001, 0, 1));
  const again = await runScan({ inputs: [images], out: killed, backend, embed: true, resume: true, progress: null });
  assert.equal(again.scanned, 1);
  const after = lines(killed);
  assert.equal(after.length, names.length);
  assert.equal(after.filter((l) => l.image.endsWith('/p1.png')).length, 1);
});

test('--select center keeps the face nearest the middle', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-select-'));
  const image = join(dir, 'small.png');
  writeFileSync(image, halfSize(ASTRONAUT));
  const all = join(dir, 'all.jsonl');
  const center = join(dir, 'center.jsonl');
  await runScan({ inputs: [image], out: all, backend, progress: null });
  await runScan({ inputs: [image], out: center, backend, select: 'center', progress: null });
  const [line] = lines(all);
  const mid = (f: { box: number[] }) => Math.hypot((f.box[0] + f.box[2]) / 2 - line.width! / 2, (f.box[1] + f.box[3]) / 2 - line.height! / 2);
  const expected = line.faces!.reduce((a, b) => (mid(b) < mid(a) ? b : a));
  assert.deepEqual(lines(center)[0].faces, [expected]);
  await assert.rejects(runScan({ inputs: [image], out: center, backend, select: 'middle' as never, progress: null }), /--select must be one of/);
});

test('progress: a bar with rate and ETA on a terminal, plain lines every few seconds otherwise', () => {
  const tty: string[] = [];
  const bar = new Progress(4, { isTTY: true, columns: 100, write: (t: string) => tty.push(t) }, 5);
  for (let i = 0; i < 4; i++) bar.tick(i === 3);
  bar.finish();
  assert.match(tty[0], /^\r\[#+\.*\] 1\/4 images [\d.]+ images\/s ETA (\d+:\d\d|--:--)/);
  assert.match(tty.at(-1)!, /\[#{10,}\] 4\/4 images, 1 errors .*\n$/);
  const log: string[] = [];
  const plain = new Progress(100, { isTTY: false, write: (t: string) => log.push(t) }, 3600);
  for (let i = 0; i < 100; i++) plain.tick();
  plain.finish();
  // First tick prints, then nothing for an hour, then the final line: no carriage returns in a log.
  assert.equal(log.length, 2);
  assert.match(log[0], /^scan: 1\/100 images, [\d.]+ images\/s, ETA /);
  assert.match(log[1], /^scan: 100\/100 images, [\d.]+ images\/s, in \d+:\d\d\n$/);
  assert.ok(log.every((l) => !l.includes('\r')));
});

test('tsface scan on the command line: lines on --out, a summary on stderr', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-scancli-'));
  const out = join(dir, 'faces.jsonl');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'scan', ASTRONAUT, join(dir, 'absent.jpg'), '--out', out, '--progress-every', '1'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /scan: \d\/2 images/);
  assert.match(r.stderr, /2 images, 0 already done, 2 scanned \(1 error lines\)/);
  const got = lines(out);
  assert.deepEqual(got.map((l) => l.image), [ASTRONAUT, join(dir, 'absent.jpg')]);
  assert.deepEqual(Object.keys(got[0]), ['image', 'size', 'mtime', 'width', 'height', 'faces']);
  assert.deepEqual(got[1], { image: join(dir, 'absent.jpg'), error: 'cannot read: ENOENT' });
});

test('scan usage errors exit 2 and write nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-scanusage-'));
  assert.equal(await main(['scan', ASTRONAUT]), 2);
  assert.equal(await main(['scan', ASTRONAUT, '--out', join(dir, 'f.jsonl'), '--select', 'middle']), 2);
  assert.equal(await main(['scan', ASTRONAUT, '--out', dir]), 2);
  assert.equal(await main(['scan', ASTRONAUT, '--out', join(dir, 'f.jsonl'), '--queue', 'redis://127.0.0.1:1']), 2);
  assert.deepEqual(readdirSync(dir), []);
});

test('two threads scan two images at a time and write the lines of one thread, in walk order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-lanes-'));
  const half = halfSize(ASTRONAUT);
  // Slow and quick entries mixed, so the second image often finishes first.
  copyFileSync(ASTRONAUT, join(dir, 'a.jpg'));
  writeFileSync(join(dir, 'b.png'), half);
  writeFileSync(join(dir, 'c.jpg'), Buffer.from('not a jpeg'));
  writeFileSync(join(dir, 'd.png'), half);
  copyFileSync(ASTRONAUT, join(dir, 'e.jpg'));
  const one = new CpuBackend({ threads: 1 });
  // Every R-Net and O-Net batch split, whatever the machine's speed: its first piece goes to the
  // worker, so the count below does not depend on how fast this machine runs a small batch.
  const two = new CpuBackend({ threads: 2, splitBatchesFromMs: 0 });
  try {
    const text = async (b: CpuBackend, name: string) => {
      await runScan({ inputs: [dir], out: join(dir, name), backend: b, embed: true, progress: null });
      return readFileSync(join(dir, name), 'utf8');
    };
    const expected = await text(one, 'one.jsonl');
    await text(two, 'warm.jsonl'); // records the nets' tapes
    const before = two.workerPasses;
    assert.equal(await text(two, 'two.jsonl'), expected);
    assert.ok(two.workerPasses > before, 'no pass ran on the worker');
    assert.deepEqual(lines(join(dir, 'two.jsonl')).map((l) => l.image.slice(dir.length + 1)), ['a.jpg', 'b.png', 'c.jpg', 'd.png', 'e.jpg']);
  } finally {
    await one.dispose();
    await two.dispose();
  }
});
