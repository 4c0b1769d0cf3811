// tsface's Redis client (what BullMQ runs on): RESP parsing across arbitrary read boundaries,
// and the commands BullMQ relies on against a real redis-server of the test's own.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RedisClient } from '../src/collection/redisClient.ts';
import { encodeCommand, RedisReplyError, ReplyParser } from '../src/collection/resp.ts';

const REDIS = '/usr/bin/redis-server';
const redisSkip = existsSync(REDIS) ? false : `${REDIS} is absent (apt-get install redis-server): SKIPPING the Redis client tests`;
if (redisSkip) console.warn(`\n!!! ${redisSkip} !!!\n`);

test('RESP: commands encode as bulk arrays; replies parse whole from any split of their bytes', () => {
  assert.equal(encodeCommand(['SET', 'k', 12, Buffer.from([0, 255])]).toString('latin1'), '*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n$2\r\n\x00\xff\r\n');
  const wire = Buffer.from('+OK\r\n:42\r\n$-1\r\n$4\r\nh\u00e9l\r\n*2\r\n*1\r\n$1\r\na\r\n:-3\r\n-NOSCRIPT No matching script\r\n*-1\r\n*0\r\n');
  const expected = ['OK', 42, null, 'h\u00e9l', [['a'], -3], new RedisReplyError('NOSCRIPT No matching script'), null, []];
  for (const step of [1, 2, 3, 7, wire.length]) {
    const parser = new ReplyParser();
    const got = [];
    for (let at = 0; at < wire.length; at += step) got.push(...parser.push(wire.subarray(at, at + step)));
    assert.equal(got.length, expected.length, `step ${step}`);
    got.forEach((g, i) => {
      if (g instanceof RedisReplyError) assert.equal(g.message, (expected[i] as Error).message);
      else assert.deepEqual(g, expected[i]);
    });
  }
  assert.throws(() => new ReplyParser().push(Buffer.from('?what\r\n')), /protocol error/);
});

let redis: ChildProcess | null = null;
after(() => redis?.kill('SIGKILL'));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

test('client: scripts (also after SCRIPT FLUSH), MULTI/EXEC, hashes, streams, scanStream, offline queue', { skip: redisSkip }, async () => {
  const port = await freePort();
  redis = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', mkdtempSync(join(tmpdir(), 'tsface-redis-'))], { stdio: 'ignore' });
  // Commands issued before the server is up wait in the offline queue; the client retries connecting.
  const client = new RedisClient({ port, retryStrategy: (n) => (n > 50 ? null : 100) });
  assert.equal(await client.call('PING'), 'PONG');
  client.defineCommand('sumKeys', { numberOfKeys: 2, lua: "return redis.call('INCRBY', KEYS[1], ARGV[1]) + redis.call('INCRBY', KEYS[2], ARGV[1])" });
  assert.equal(await client.runCommand('sumKeys', [['a', 'b', 5]]), 10);
  await client.call('SCRIPT', 'FLUSH');
  assert.equal(await client.runCommand('sumKeys', ['a', 'b', 1]), 12, 'reloads a script the server forgot');
  const results = await client.multi().hset('h', { x: 1, y: 'two' }).hgetall('h').runCommand('sumKeys', ['a', 'b', 0]).del('a', 'b').exec();
  assert.deepEqual(results, [[null, 2], [null, { x: '1', y: 'two' }], [null, 12], [null, 2]]);
  assert.deepEqual(await client.hmget('h', 'y', 'nope'), ['two', null]);
  const failing = await client.pipeline().hgetall('h').runCommand('sumKeys', ['h', 'b', 1]).exec();
  assert.equal(failing![0][0], null);
  assert.ok(failing![1][0] instanceof RedisReplyError, 'a script error is reported per command');
  const id = await client.xadd('s', '*', { job: 'j1', line: '{}' }, { MAXLEN: 100 });
  const read = await client.xread([{ key: 's', id: '0' }], { COUNT: 10 });
  assert.deepEqual(read, [['s', [[id, ['job', 'j1', 'line', '{}']]]]]);
  assert.equal(await client.set('k', 'v', { PX: 10_000 }), 'OK');
  assert.ok((await client.call('PTTL', 'k')) > 0);
  for (let i = 0; i < 25; i++) await client.set(`scan:${i}`, i);
  const keys: string[] = [];
  for await (const batch of client.scanStream({ match: 'scan:*', count: 7 })) keys.push(...batch);
  assert.equal(new Set(keys).size, 25);
  assert.equal(await client.bzpopmin('empty-zset', 0.05), null);
  await client.quit();
  assert.equal(client.status, 'end');
  await assert.rejects(client.call('PING'), /Connection is closed/);
});
