// The queue's connections (ioredis, as bullmq runs on) against a real redis-server of the test's
// own: URLs with a password, a database index and rediss://; a server with requirepass, where
// the right password scans and a wrong one is a one-line error instead of a hang; and a Redis
// that restarts mid-scan, after which the worker carries on and collect gets every image once.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { collect, enqueueScan, parseQueueUrl, QueueConnectionError, redactUrl } from '../src/collection/queue.ts';
import { freePort, redisSkip as redisSkipReason, startRedis, startWorker } from './helpers/redis.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const redisSkip = redisSkipReason('the Redis connection tests');

async function stopRedis(redis: ChildProcess): Promise<void> {
  if (redis.exitCode !== null || redis.signalCode !== null) return;
  const exited = new Promise((resolve) => redis.once('exit', resolve));
  redis.kill('SIGTERM');
  await exited;
}

/** `count` copies of the example photo under a fresh folder. */
function photos(dir: string, count: number): string {
  const images = join(dir, 'images');
  mkdirSync(images, { recursive: true });
  const bytes = readFileSync(join(ROOT, 'examples', 'astronaut.jpg'));
  for (let i = 0; i < count; i++) writeFileSync(join(images, `p${i}.jpg`), bytes);
  return images;
}

test('queue URLs: user, password and database; rediss:// is TLS; a password never shows in messages', () => {
  const o = parseQueueUrl('redis://alice:s%3Acret@10.0.0.5:7000/3');
  assert.deepEqual([o.host, o.port, o.db, o.username, o.password, o.tls], ['10.0.0.5', 7000, 3, 'alice', 's:cret', undefined]);
  const tls = parseQueueUrl('rediss://:pw@cache.example.com');
  assert.deepEqual([tls.host, tls.port, tls.db, tls.password, tls.tls], ['cache.example.com', 6379, 0, 'pw', { servername: 'cache.example.com' }]);
  assert.throws(() => parseQueueUrl('redis://h:1/x'), /database must be a number/);
  assert.equal(redactUrl('redis://:secret@h:1/2'), 'redis://:***@h:1/2');
  assert.throws(() => parseQueueUrl('memcached://:secret@h:1'), (e: Error) => !e.message.includes('secret'));
});

test('requirepass: the right password in the URL scans (database 2); a wrong one is a one-line error, not a hang', { skip: redisSkip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-redis-auth-'));
  const port = await freePort();
  const { process: redis } = await startRedis(dir, { port, extra: ['--requirepass', 'open sesame'], password: 'open sesame' });
  const url = `redis://:${encodeURIComponent('open sesame')}@127.0.0.1:${port}/2`;
  const images = photos(dir, 2);
  assert.deepEqual(await enqueueScan(url, [images], {}), { added: 2, total: 2 });
  const admin = new Redis({ port, password: 'open sesame', db: 2 });
  assert.equal(await admin.hlen('tsface-scan:jobs'), 2, 'the jobs are in database 2');
  await admin.select(0);
  assert.equal(await admin.exists('tsface-scan:jobs'), 0, 'and not in database 0');
  admin.disconnect();

  const worker = startWorker(url);
  const got = await collect({ url, out: join(dir, 'faces.jsonl'), idleTimeoutS: 60 });
  assert.deepEqual(got, { lines: 2, errors: 0 });
  worker.child.kill('SIGTERM');
  await worker.exited;

  const wrong = `redis://:nope@127.0.0.1:${port}/2`;
  for (const attempt of [() => enqueueScan(wrong, [images], {}), () => collect({ url: wrong, out: join(dir, 'x.jsonl') })]) {
    await assert.rejects(attempt(), (e: Error) => {
      assert.ok(e instanceof QueueConnectionError, String(e));
      assert.match(e.message, /^cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/2: WRONGPASS[^\n]*$/);
      return true;
    });
  }
  await stopRedis(redis);
});

test('Redis restarts mid-scan: the worker reconnects and collect gets every image once', { skip: redisSkip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-redis-restart-'));
  const port = await freePort();
  // An append-only file synced on every write: the restarted server has every job and result.
  const durable = ['--appendonly', 'yes', '--appendfsync', 'always'];
  let redis = (await startRedis(dir, { port, extra: durable })).process;
  const url = `redis://127.0.0.1:${port}`;
  const images = photos(dir, 8);
  await enqueueScan(url, [images], {});
  const worker = startWorker(url);
  await worker.finished(2);
  // Frozen while Redis goes down and comes back, so it has images left to do on new connections.
  worker.child.kill('SIGSTOP');
  const before = (worker.log().match(/: \d+ faces/g) ?? []).length;
  await stopRedis(redis);
  redis = (await startRedis(dir, { port, extra: durable })).process;
  worker.child.kill('SIGCONT');
  const out = join(dir, 'faces.jsonl');
  const got = await collect({ url, out, idleTimeoutS: 60 });
  assert.deepEqual(got, { lines: 8, errors: 0 });
  const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean).map((t) => JSON.parse(t));
  assert.deepEqual(lines.map((l) => l.image).sort(), Array.from({ length: 8 }, (_, i) => join(images, `p${i}.jpg`)).sort());
  assert.equal(worker.child.exitCode, null, `the worker is still running:\n${worker.log()}`);
  assert.ok(before < 8, `the worker had finished ${before} images before the restart`);
  await worker.finished(8); // the rest, after the restart, by this same worker process
  worker.child.kill('SIGTERM');
  await worker.exited;
  await stopRedis(redis);
});
