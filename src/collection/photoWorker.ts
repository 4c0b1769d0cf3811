// A photo thread: a one-thread CPU backend, detector and embedder of its own, and whole photos
// in turn (read, decode, detect, align, embed, the JSON line). Small photos are too small to
// share one net's ops between threads profitably; whole photos on several threads keep every
// core busy with no hand-off inside a photo.
import { parentPort } from 'node:worker_threads';
import { CpuBackend, type CpuBackendOptions } from '../tensor/cpu/backend.ts';
import { TsfaceError } from '../errors.ts';
import { ImageScanner, scanFile, type ScanSettings } from './imageScanner.ts';
import { formatLine } from './jsonl.ts';

/**
 * The CPU backend's kernel choices, so a photo thread computes the bits the main thread would,
 * and the released memory it keeps for reuse (which changes no bits).
 */
export type PhotoBackendOptions = Pick<CpuBackendOptions, 'simd' | 'winograd' | 'winogradTile' | 'fma' | 'poolInConv' | 'firstConv' | 'spareBytes'>;

export type PhotoRequest =
  | { kind: 'init'; settings: ScanSettings; backend: PhotoBackendOptions }
  | { kind: 'photo'; id: number; path: string; size: number; mtime: number };

/** A failure carried across the thread boundary; `code` set for a TsfaceError. */
export interface CarriedError {
  name: string;
  message: string;
  code?: string;
}

export type PhotoReply =
  | { kind: 'ready' }
  | { kind: 'failed'; error: CarriedError }
  | { kind: 'line'; id: number; text: string; faces: number; failed: boolean };

export function carry(e: unknown): CarriedError {
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, message: err.message, code: err instanceof TsfaceError ? err.code : undefined };
}

const port = parentPort!;
let scanner: ImageScanner | null = null;
// Photos come one message each and are scanned strictly in arrival order: the pool queues a
// second one here so this thread never waits on the main thread between photos.
let queue: Promise<void> = Promise.resolve();

port.on('message', (m: PhotoRequest) => {
  if (m.kind === 'init') {
    try {
      scanner = new ImageScanner(new CpuBackend({ threads: 1, ...m.backend }), m.settings);
      port.postMessage({ kind: 'ready' } satisfies PhotoReply);
    } catch (e) {
      port.postMessage({ kind: 'failed', error: carry(e) } satisfies PhotoReply);
    }
    return;
  }
  queue = queue.then(async () => {
    const line = await scanFile(scanner!, m.path, { size: m.size, mtime: m.mtime });
    const reply: PhotoReply = { kind: 'line', id: m.id, text: formatLine(line), faces: line.faces?.length ?? 0, failed: line.error !== undefined };
    port.postMessage(reply);
  });
});
