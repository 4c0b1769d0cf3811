// The queue's npm packages, loaded by the queue commands only: bullmq and ioredis are optional
// peer dependencies, so `npm i tsface` stays small for everyone who never runs `scan --queue`,
// `worker` or `collect`.
import type { RedisOptions as BullmqRedisOptions } from 'bullmq';
import type { Redis as RedisClient, RedisOptions as IoredisOptions } from 'ioredis';
import { isNotFound, MissingPackageError } from '../platform/optionalPackage.ts';

export const QUEUE_PACKAGES = ['bullmq', 'ioredis'] as const;

export type Bullmq = typeof import('bullmq');
export type { RedisClient };
/** Connection options as bullmq types them (a subset of ioredis's, which bullmq hands on). */
export type RedisOptions = BullmqRedisOptions;

export interface QueueDeps {
  bullmq: Bullmq;
  /** A new ioredis client. */
  connect(options: RedisOptions): RedisClient;
}

let loaded: Promise<QueueDeps> | null = null;

/** bullmq running on ioredis, or a MissingPackageError naming `npm i bullmq ioredis`. */
export function loadQueueDeps(): Promise<QueueDeps> {
  return (loaded ??= load().catch((e) => {
    loaded = null;
    if (QUEUE_PACKAGES.some((name) => isNotFound(e, name))) throw new MissingPackageError('the Redis queue (scan --queue, worker, collect)', QUEUE_PACKAGES);
    throw e;
  }));
}

async function load(): Promise<QueueDeps> {
  const [bullmq, ioredis] = await Promise.all([import('bullmq'), import('ioredis')]);
  const connect = (options: RedisOptions) => new ioredis.Redis(options as IoredisOptions);
  // bullmq's ESM build cannot require() ioredis itself (its documented answer for native ESM is a
  // client factory): every connection it opens is an ioredis client made here.
  bullmq.RedisConnection.clientFactory = (opts) => bullmq.createIORedisClient(connect(opts as RedisOptions));
  return { bullmq, connect };
}
