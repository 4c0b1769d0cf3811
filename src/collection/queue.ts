// The scan spread over machines: one BullMQ job per image on a Redis queue, workers anywhere
// that write each image's line to a Redis stream, and a collector that drains the stream into
// the same JSONL a local scan writes.
//   keys: bull:tsface-scan:* (BullMQ's), tsface-scan:jobs (hash job id -> image, every job ever
//   enqueued), tsface-scan:results (stream of {job, line}).
// A job's id is a hash of its image path, so enqueueing a folder twice adds nothing. A job that
// throws (the file unreadable on that machine) or whose worker dies (its lock lapses) is retried;
// once out of attempts it is failed, and the collector writes its error line.
// Every connection is an ioredis client (bullmq's own driver), loaded with bullmq on first use.
import { createHash } from 'node:crypto';
import { closeSync, statSync, writeSync } from 'node:fs';
import type { Job } from 'bullmq';
import type { Backend } from '../tensor/backend.ts';
import { ArgumentError, TsfaceError } from '../errors.ts';
import { DecodePool } from './decodePool.ts';
import { checkSettings, errorLine, ImageScanner, type ScanSettings } from './imageScanner.ts';
import { formatLine, openOutput, type ImageLine } from './jsonl.ts';
import { loadQueueDeps, type RedisClient, type RedisOptions } from './queueDeps.ts';
import { walkImages } from './walk.ts';

export const QUEUE_NAME = 'tsface-scan';
const JOBS_KEY = `${QUEUE_NAME}:jobs`;
const RESULTS_KEY = `${QUEUE_NAME}:results`;
/** Attempts per image: a first try and two retries (another machine may see the file). */
export const ATTEMPTS = 3;


/** Redis cannot be reached (or went away and did not come back). */
export class QueueConnectionError extends TsfaceError {
  constructor(message: string) {
    super('E_QUEUE', message);
  }
}

/** A client and the last error it reported (ioredis emits connection errors as events). */
interface Connection {
  client: RedisClient;
  lastError: () => NodeJS.ErrnoException | null;
}

/** A connected client, or a typed error saying why not (so no BullMQ object starts against a dead server). */
async function connectedClient(url: string): Promise<Connection> {
  const { connect } = await loadQueueDeps();
  const client = connect(parseQueueUrl(url));
  const errors: NodeJS.ErrnoException[] = [];
  const last = () => errors.at(-1) ?? null;
  // Reported through the awaited calls and `lost`; without a listener an error event would throw.
  client.on('error', (e: NodeJS.ErrnoException) => errors.splice(0, errors.length, e));
  try {
    await client.call('PING');
  } catch (e) {
    client.disconnect();
    throw new QueueConnectionError(`cannot reach Redis at ${redactUrl(url)}: ${last()?.code ?? firstLine(last()?.message ?? (e as Error).message)}`);
  }
  return { client, lastError: last };
}

const firstLine = (text: string) => text.split('\n')[0];

/** The URL as messages show it: a password never reaches a log. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href;
  } catch {
    return url;
  }
}

/** ioredis options for a redis:// or rediss:// (TLS) URL with an optional user, password and database. */
export function parseQueueUrl(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ArgumentError(`--queue must be a URL like redis://HOST:PORT, got '${redactUrl(url)}'`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new ArgumentError(`--queue must be a redis:// or rediss:// URL, got '${redactUrl(url)}'`);
  const port = u.port ? Number(u.port) : 6379;
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new ArgumentError(`--queue database must be a number, got '${u.pathname.slice(1)}'`);
  return {
    host: u.hostname || '127.0.0.1',
    port,
    db,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    // rediss://: TLS with Node's default checks (the server's certificate against the host name).
    ...(u.protocol === 'rediss:' ? { tls: { servername: u.hostname } } : {}),
    // Give up on a server that cannot be reached instead of retrying forever; a restart of a few
    // seconds is ridden out (commands wait in the offline queue and run on reconnection).
    retryStrategy: (times: number) => (times > 4 ? null : 500 * times),
  };
}

export function jobId(image: string): string {
  return createHash('sha1').update(image).digest('hex');
}

interface JobData {
  image: string;
  settings: ScanSettings;
}

/** One job per image under `inputs`; returns how many were new. */
export async function enqueueScan(url: string, inputs: readonly string[], settings: ScanSettings): Promise<{ added: number; total: number }> {
  const connection = parseQueueUrl(url);
  const { client } = await connectedClient(url);
  const { Queue } = (await loadQueueDeps()).bullmq;
  const queue = new Queue<JobData>(QUEUE_NAME, { connection });
  queue.on('error', () => {}); // failures reach the awaited calls below
  let added = 0;
  let total = 0;
  try {
    let batch: { name: string; data: JobData; opts: object }[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      // The jobs hash first: a job is never on the queue without the collector knowing of it.
      const fresh = await Promise.all(batch.map((j) => client.call('HSETNX', JOBS_KEY, (j.opts as { jobId: string }).jobId, j.data.image)));
      added += fresh.filter((n) => n === 1).length;
      await queue.addBulk(batch as any);
      batch = [];
    };
    for (const entry of walkImages(inputs)) {
      total++;
      batch.push({
        name: 'scan',
        data: { image: entry.path, settings },
        opts: { jobId: jobId(entry.path), attempts: ATTEMPTS, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: false, removeOnFail: false },
      });
      if (batch.length === 500) await flush();
    }
    await flush();
  } finally {
    await queue.close();
    await client.quit();
  }
  return { added, total };
}

/** Serialises the nets: concurrent jobs decode in parallel but share one backend one at a time. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(() => undefined, () => undefined);
    return result;
  }
}

/** Thrown for a file this machine cannot read: retried, as another machine (or later) may. */
class UnreadableHere extends Error {}

export interface WorkerOptions {
  url: string;
  backend: Backend;
  concurrency?: number;
  /** Milliseconds a job's lock lasts without renewal: a dead worker's job is retried after about this long. */
  lockMs?: number;
  log?: (line: string) => void;
}

export interface RunningWorker {
  /** Finishes the jobs in hand and disconnects. */
  close(): Promise<void>;
  /** Settles if Redis goes away for good while the worker runs. */
  lost: Promise<QueueConnectionError>;
}

/** Starts taking jobs once Redis answers; a server that cannot be reached is a QueueConnectionError. */
export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const connection = parseQueueUrl(o.url);
  const concurrency = o.concurrency ?? 1;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new ArgumentError(`--concurrency must be a positive integer, got ${concurrency}`);
  const lockMs = o.lockMs ?? 30_000;
  if (!(Number.isInteger(lockMs) && lockMs >= 500)) throw new ArgumentError(`lock duration must be an integer >= 500 ms, got ${lockMs}`);
  const { client: results, lastError } = await connectedClient(o.url);
  const { Worker } = (await loadQueueDeps()).bullmq;
  let closing: Promise<void> | null = null;
  // 'end': ioredis has given up reconnecting (retryStrategy said no more).
  const lost = new Promise<QueueConnectionError>((resolve) => results.once('end', () => {
    if (!closing) resolve(new QueueConnectionError(`lost Redis at ${redactUrl(o.url)}: ${lastError()?.code ?? 'connection closed'}`));
  }));
  const pool = new DecodePool(Math.min(concurrency, 2));
  const nets = new Mutex();
  const scanners = new Map<string, ImageScanner>();
  const scannerFor = (settings: ScanSettings) => {
    const checked = checkSettings(settings);
    const key = JSON.stringify(checked);
    let s = scanners.get(key);
    if (!s) scanners.set(key, (s = new ImageScanner(o.backend, checked)));
    return s;
  };

  const scanJob = async (job: Job<JobData>): Promise<void> => {
    const { image, settings } = job.data;
    let stat;
    try {
      stat = statSync(image);
    } catch (e) {
      throw new UnreadableHere(`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const fileStat = { size: stat.size, mtime: stat.mtimeMs };
    let line: ImageLine;
    if (!stat.isFile()) line = errorLine(image, new Error('not a regular file'), fileStat);
    else {
      const scanner = scannerFor(settings);
      let rgb;
      try {
        rgb = await pool.decode(image, scanner.settings.maxPixels);
      } catch (e) {
        if (/cannot read: (ENOENT|EACCES|EIO|EPERM)/.test((e as Error).message)) throw new UnreadableHere((e as Error).message);
        rgb = e as Error;
      }
      if (rgb instanceof Error) line = errorLine(image, rgb, fileStat);
      else {
        const decoded = rgb;
        try {
          line = await nets.run(() => scanner.analyse(image, decoded, fileStat));
        } catch (e) {
          if (!(e instanceof TsfaceError)) throw e;
          line = errorLine(image, e, fileStat);
        }
      }
    }
    await results.call('XADD', RESULTS_KEY, '*', 'job', job.id!, 'line', JSON.stringify(line));
    o.log?.(`${image}: ${line.error ? `error: ${line.error}` : `${line.faces?.length ?? 0} faces`}`);
  };

  const worker = new Worker<JobData>(QUEUE_NAME, scanJob, {
    connection,
    concurrency,
    lockDuration: lockMs,
    stalledInterval: Math.max(250, Math.floor(lockMs / 2)),
    maxStalledCount: 1,
  });
  worker.on('failed', (job, e) => o.log?.(`${job?.data.image ?? '?'}: attempt ${job?.attemptsMade ?? '?'} failed: ${e.message}`));
  worker.on('error', (e) => o.log?.(`queue error: ${e.message}`));
  const close = () => (closing ??= (async () => {
    await worker.close();
    await pool.dispose();
    await results.quit();
  })());
  await worker.waitUntilReady();
  return { close, lost };
}

export interface CollectOptions {
  url: string;
  out: string;
  /** Give up (an error) when no line arrives for this many seconds; wait for ever by default. */
  idleTimeoutS?: number;
  log?: (line: string) => void;
}

export class CollectTimeoutError extends TsfaceError {
  constructor(message: string) {
    super('E_TIMEOUT', message);
  }
}

/**
 * Drains the results stream into `out`, one line per enqueued image (the first line a job
 * produced, should a retried job have written twice), plus an error line for each job that
 * failed all its attempts; returns once every enqueued job has its line.
 */
export async function collect(o: CollectOptions): Promise<{ lines: number; errors: number }> {
  const connection = parseQueueUrl(o.url);
  const { client } = await connectedClient(o.url);
  const { Queue } = (await loadQueueDeps()).bullmq;
  let fd: number;
  try {
    fd = openOutput(o.out, 'w');
  } catch (e) {
    client.disconnect();
    throw e;
  }
  const queue = new Queue<JobData>(QUEUE_NAME, { connection });
  queue.on('error', () => {}); // failures reach the awaited calls below
  const written = new Set<string>();
  let errors = 0;
  let cursor = '-';
  let lastProgress = Date.now();
  const emit = (id: string, line: ImageLine) => {
    writeSync(fd, formatLine(line));
    written.add(id);
    if (line.error) errors++;
    lastProgress = Date.now();
  };
  try {
    for (;;) {
      const total = (await client.call('HLEN', JOBS_KEY)) as number;
      const entries = (await client.call('XRANGE', RESULTS_KEY, cursor, '+', 'COUNT', 1000)) as [string, string[]][];
      for (const [id, fields] of entries) {
        cursor = `(${id}`;
        const job = fields[fields.indexOf('job') + 1];
        if (written.has(job)) continue;
        emit(job, JSON.parse(fields[fields.indexOf('line') + 1]) as ImageLine);
      }
      if (entries.length === 1000) continue;
      for (const job of await queue.getFailed(0, -1)) {
        if (!job?.id || written.has(job.id)) continue;
        emit(job.id, { image: job.data.image, error: `${job.failedReason} (after ${job.attemptsMade} attempts)` });
      }
      if (total > 0 && written.size >= total) break;
      if (o.idleTimeoutS !== undefined && Date.now() - lastProgress > o.idleTimeoutS * 1000) {
        throw new CollectTimeoutError(`no result for ${o.idleTimeoutS} s with ${written.size} of ${total} lines collected; are workers running?`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    closeSync(fd);
    await queue.close();
    await client.quit();
  }
  o.log?.(`collected ${written.size} lines (${errors} errors) -> ${o.out}`);
  return { lines: written.size, errors };
}
