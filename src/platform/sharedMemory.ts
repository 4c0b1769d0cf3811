// Shared memory, touched only where the host has it. On a page that is not cross-origin isolated
// SharedArrayBuffer is not even defined, so a bare `x instanceof SharedArrayBuffer` throws there:
// every use goes through these, which look it up only after canShareMemory() (the atomics below
// are only ever given arrays on shared memory, which exist only where it is there).
import { PlatformError } from '../errors.ts';
import { canShareMemory, mayBlockThread, sharedMemoryUnavailable } from './index.ts';

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

// Word-sized atomics on an Int32Array over shared memory: sequentially consistent, so two threads
// that each write one word and then read the other's always see at least one of the writes.

export function atomicLoad(a: Int32Array, i: number): number {
  return Atomics.load(a, i);
}

export function atomicStore(a: Int32Array, i: number, v: number): void {
  Atomics.store(a, i, v);
}

/** Adds `v` to the word. */
export function atomicAdd(a: Int32Array, i: number, v: number): void {
  Atomics.add(a, i, v);
}

/** Writes `v` where the word holds `expected`; returns what it held (=== expected: written). */
export function atomicSwapIf(a: Int32Array, i: number, expected: number, v: number): number {
  return Atomics.compareExchange(a, i, expected, v);
}

/** Wakes every thread blocked in waitWhile on word i. */
export function wake(a: Int32Array, i: number): void {
  Atomics.notify(a, i);
}

/**
 * Blocks this thread while word i holds `value`, at most `ms`: false where the thread may not
 * block (a page's main thread), which must then poll instead.
 */
export function waitWhile(a: Int32Array, i: number, value: number, ms: number): boolean {
  if (!mayBlockThread()) return false;
  Atomics.wait(a, i, value, ms);
  return true;
}

/**
 * Resolves when word i no longer holds `value` (or after `ms`), without blocking: for a thread
 * that may not block (a page's main thread). Null where the engine has no asynchronous wait.
 */
export function waitWhileAsync(a: Int32Array, i: number, value: number, ms: number): Promise<unknown> | null {
  const waitAsync = (Atomics as { waitAsync?: (a: Int32Array, i: number, v: number, ms: number) => { async: boolean; value: unknown } }).waitAsync;
  if (typeof waitAsync !== 'function') return null;
  const r = waitAsync(a, i, value, ms);
  return r.async ? (r.value as Promise<unknown>) : Promise.resolve(r.value);
}
