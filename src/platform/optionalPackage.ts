// Packages tsface can use but does not install: gpu.js in Node (its Node build pulls Dawn's native
// WebGPU binaries, tens of megabytes a CPU user never runs) and the queue's bullmq and ioredis.
// They are optional peer dependencies; a feature that needs one loads it on first use, and where
// it is absent the error says the one command that adds it.
import { createRequire } from 'node:module';
import { MissingPackageError } from '../errors.ts';

export { MissingPackageError };

/** Whether `e` says that `name` itself (not something it imports) could not be found. */
export function isNotFound(e: unknown, name: string): boolean {
  const err = e as NodeJS.ErrnoException;
  if (err?.code !== 'MODULE_NOT_FOUND' && err?.code !== 'ERR_MODULE_NOT_FOUND') return false;
  return new RegExp(`['"]${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"]`).test(err.message);
}

const require = createRequire(import.meta.url);

/** `require(name)` from tsface's own folder, or a MissingPackageError naming the install command. */
export function requireOptional<T>(name: string, feature: string): T {
  try {
    return require(name) as T;
  } catch (e) {
    if (isNotFound(e, name)) throw new MissingPackageError(feature, [name]);
    throw e;
  }
}
