// Shared memory, touched only where the host has it. On a page that is not cross-origin isolated
// SharedArrayBuffer is not even defined, so a bare `x instanceof SharedArrayBuffer` throws there:
// every use goes through these two, which look it up only after canShareMemory().
import { PlatformError } from '../errors.ts';
import { canShareMemory, sharedMemoryUnavailable } from './index.ts';

/** Whether `buffer` is shared memory (never, where the host has none). */
export function isSharedMemory(buffer: ArrayBufferLike): buffer is SharedArrayBuffer {
  return canShareMemory() && buffer instanceof SharedArrayBuffer;
}

/** A new SharedArrayBuffer of `bytes`; a PlatformError where the host has none (everything runs on one thread there). */
export function newSharedMemory(bytes: number): SharedArrayBuffer {
  const missing = sharedMemoryUnavailable();
  if (missing) throw new PlatformError(`shared memory was asked for where there is none: ${missing}`);
  return new SharedArrayBuffer(bytes);
}
