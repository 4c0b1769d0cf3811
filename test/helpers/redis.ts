// A redis-server of a test's own on a loopback port, and `tsface worker` child processes, shared
// by the queue suites. Every process started here is killed when the test file ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REDIS = '/usr/bin/redis-server';

/** False where redis-server is installed, else the loud reason the suite skips. */
export function redisSkip(what: string): string | false {
  if (existsSync(REDIS)) return false;
  const msg = `${REDIS} is absent (apt-get install redis-server): SKIPPING ${what}`;
  console.warn(`\n!!! ${msg} !!!\n`);
  return msg;
}

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A redis-server on `port` (a free one by default) keeping its files in `dir`, resolved once it
 * answers PING (with `password` where `extra` sets requirepass). It is given as many tries as a
 * loaded machine needs: a start that never answers still ends, after 600 of them.
 */
export async function startRedis(dir: string, options: { port?: number; extra?: string[]; password?: string } = {}): Promise<{ url: string; port: number; process: ChildProcess }> {
  const port = options.port ?? (await freePort());
  const redis = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, ...(options.extra ?? [])], { stdio: 'ignore' });
  children.push(redis);
  for (let tries = 0; ; tries++) {
    const client = new Redis({ port, password: options.password, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    try {
      if ((await client.ping()) === 'PONG') return { url: `redis://127.0.0.1:${port}`, port, process: redis };
    } catch {
      if (tries > 600 || redis.exitCode !== null) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      client.disconnect();
    }
  }
}

/** `tsface worker` as a child process; `finished(n)` resolves once its log shows n finished images. */
export function startWorker(url: string): { child: ChildProcess; finished: (n: number) => Promise<void>; exited: Promise<unknown>; log: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--queue', url, '--lock-ms', '2500', '--threads', '1'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let log = '';
  const waiters: { n: number; resolve: () => void }[] = [];
  const done = () => (log.match(/: \d+ faces|: error: /g) ?? []).length;
  child.stderr!.on('data', (d) => {
    log += d;
    for (const w of waiters.filter((w) => done() >= w.n)) w.resolve();
  });
  return {
    child,
    finished: (n) => new Promise((resolve) => (done() >= n ? resolve() : waiters.push({ n, resolve }))),
    exited: new Promise((resolve) => child.on('exit', resolve)),
    log: () => log,
  };
}
