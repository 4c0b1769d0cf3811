// The queue's npm packages, loaded by the queue commands only: bullmq (and the Redis client it
// runs on) are optional peer dependencies, so `npm i tsface` stays small for everyone who never
// runs `scan --queue`, `worker` or `collect`.
import { isNotFound, MissingPackageError } from '../platform/optionalPackage.ts';

export const QUEUE_PACKAGES = ['bullmq', 'ioredis'] as const;

type Bullmq = typeof import('bullmq');

let loaded: Promise<Bullmq> | null = null;

/** bullmq, or a MissingPackageError naming `npm i bullmq ioredis`. */
export function loadBullmq(): Promise<Bullmq> {
  return (loaded ??= import('bullmq').catch((e) => {
    loaded = null;
    if (QUEUE_PACKAGES.some((name) => isNotFound(e, name))) throw new MissingPackageError('the Redis queue (scan --queue, worker, collect)', QUEUE_PACKAGES);
    throw e;
  }));
}
