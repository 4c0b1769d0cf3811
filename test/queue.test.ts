// The scan over a real Redis queue: a redis-server of the test's own on a free loopback port,
// enqueueing twice (no duplicates), two workers as child processes with one killed mid-run,
// a poison image that ends as an error line after its retries, and the collected JSONL equal
// to a single-machine scan of the same folder.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { PNG } from 'pngjs';
import { collect, enqueueScan, parseQueueUrl, QUEUE_NAME, QueueConnectionError } from '../src/collection/queue.ts';
import { runScan } from '../src/collection/scan.ts';
import { toRgbImage } from '../src/image/decode.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { freePort, redisSkip as redisSkipReason, startRedis, startWorker } from './helpers/redis.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const redisSkip = redisSkipReason('the queue tests');

function halfSizePng(file: string, shift: number): Buffer {
  const img = toRgbImage(file);
  const w = img.width >> 1, h = img.height >> 1;
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = Math.min(img.width - 1, 2 * x + shift);
      for (let c = 0; c < 3; c++) png.data[(y * w + x) * 4 + c] = img.data[(2 * y * img.width + sx) * 3 + c];
      png.data[(y * w + x) * 4 + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

const sortedLines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).sort();

test('queue URLs are checked', () => {
  assert.throws(() => parseQueueUrl('http://host:1'), /redis:\/\/ or rediss:\/\/ URL/);
  assert.throws(() => parseQueueUrl('not a url'), /redis:\/\/HOST:PORT/);
  assert.deepEqual({ ...parseQueueUrl('redis://:pw@10.0.0.5:7000/2'), retryStrategy: undefined }, { host: '10.0.0.5', port: 7000, db: 2, username: undefined, password: 'pw', retryStrategy: undefined });
});

test('a Redis that cannot be reached is a typed error after a few retries, not a hang or a crash', async () => {
  const port = await freePort(); // nothing listens there now
  await assert.rejects(enqueueScan(`redis://127.0.0.1:${port}`, [join(ROOT, 'examples')], {}), (e: Error) => e instanceof QueueConnectionError && /cannot reach Redis at .*ECONNREFUSED/.test(e.message));
});

test('scan over the queue: two workers, one killed mid-run, collect equals a single-machine scan', { skip: redisSkip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-queue-'));
  const { url, process: redis } = await startRedis(dir);
  const images = join(dir, 'images');
  mkdirSync(join(images, 'more'), { recursive: true });
  const astronaut = join(ROOT, 'examples/astronaut.jpg');
  const names = Array.from({ length: 6 }, (_, i) => (i % 2 ? `more/s${i}.png` : `s${i}.png`));
  names.forEach((name, i) => writeFileSync(join(images, name), halfSizePng(astronaut, i)));
  writeFileSync(join(images, 'broken.jpg'), readFileSync(astronaut).subarray(0, 2000));
  const poison = join(images, 'poison.jpg');
  writeFileSync(poison, readFileSync(astronaut));

  const first = await enqueueScan(url, [images], { embed: true });
  const second = await enqueueScan(url, [images], { embed: true });
  assert.deepEqual(first, { added: 8, total: 8 });
  assert.deepEqual(second, { added: 0, total: 8 });
  const queue = new Queue(QUEUE_NAME, { connection: parseQueueUrl(url) });
  const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'completed', 'failed');
  assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), 8, 'enqueueing twice added no job');
  // The poison image: enqueued, then gone from every machine's view. Each attempt fails; retried, then failed.
  rmSync(poison);

  const a = startWorker(url);
  await a.finished(1);
  const b = startWorker(url);
  a.child.kill('SIGKILL'); // mid-run: it has taken its next job already
  await a.exited;
  const out = join(dir, 'faces.jsonl');
  const got = await collect({ url, out, idleTimeoutS: 90 });
  assert.equal(got.lines, 8);
  b.child.kill('SIGTERM');
  await b.exited;

  const collected = sortedLines(out);
  const lines = collected.map((t) => JSON.parse(t));
  assert.equal(new Set(lines.map((l) => l.image)).size, 8, 'one line per image, no duplicates');
  const poisonLine = lines.find((l) => l.image === poison);
  assert.match(poisonLine.error, /cannot read: ENOENT \(after 3 attempts\)/);
  const local = join(dir, 'local.jsonl');
  const backend = new CpuBackend();
  await runScan({ inputs: [images], out: local, backend, embed: true, progress: null });
  await backend.dispose();
  assert.deepEqual(collected.filter((t) => !t.includes('poison.jpg')), sortedLines(local));
  const retried = (await queue.getCompleted(0, -1)).filter((j) => j.stalledCounter > 0 || j.attemptsMade > 1).length;
  console.log(`  worker A finished ${(a.log().match(/: \d+ faces|: error: /g) ?? []).length} images before it was killed; ${retried} job(s) were retried after it died`);
  await queue.close();
  redis.kill('SIGTERM');
});
