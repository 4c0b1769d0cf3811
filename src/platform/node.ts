// The platform seam, Node's side: environment, threads, gpu.js's Node build, bundled weights read
// from the package folder, kernel workers on worker_threads.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { parentPort, Worker } from 'node:worker_threads';
import { readBoundedFile } from '../io/readFile.ts';
import { WeightsError } from '../errors.ts';
import { requireOptional } from './optionalPackage.ts';
import type { KernelWorker, KernelWorkerPort } from './types.ts';

export const platformName = 'node';

export function env(name: string): string | undefined {
  return process.env[name];
}

/**
 * Lets WebAssembly modules compiled from now on use relaxed SIMD (f32x4.relaxed_madd), which
 * Node 20's V8 keeps behind a flag; V8's flags are the process's, so worker threads get it too.
 * Callers still probe the engine by compiling (compileModule gives null where it is refused).
 */
export function allowRelaxedSimd(): void {
  setFlagsFromString('--experimental-wasm-relaxed-simd');
}

export function hardwareThreads(): number {
  return availableParallelism();
}

/** Whether worker threads can share memory with this one (always, in Node). */
export function canShareMemory(): boolean {
  return true;
}

/**
 * Whether this thread avoids detaching ArrayBuffers (see the browser's): not in Node, whose
 * kernel memories detach as they grow anyway (Node 20 has no resizable WebAssembly buffers), and
 * where moving buffers to the kernel workers keeps a detection's fresh allocations down.
 */
export function keepBuffersAttached(): boolean {
  return false;
}

/** Whether this thread may block in Atomics.wait: every thread may, in Node. */
export function mayBlockThread(): boolean {
  return true;
}

/** Why worker threads cannot share memory with this one: never, in Node. */
export function sharedMemoryUnavailable(): string | null {
  return null;
}

/**
 * gpu.js's Node build (webasm, headless GL through the optional `gl` package, Dawn's WebGPU, cpu):
 * an optional peer dependency, so a missing one is a MissingPackageError naming `npm i gpu.js`.
 */
export function loadGpuJs(): { GPU: any; [name: string]: any } {
  return requireOptional('gpu.js', "the gpujs backend in Node");
}

/**
 * The tsface package directory: the nearest folder above this file with a package.json, the
 * same whether running from src/ (through tsx) or from the built dist/src/.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return dir;
}

/**
 * Where a bundled weights file lives: a path in Node. The repository keeps the weights in weights/;
 * the npm package ships them once, beside the browser bundle in dist/browser/weights/ (the build
 * copies them there, where the bundle fetches them), so an installed tsface reads them from there.
 */
export function bundledWeightsLocation(name: string): string {
  const root = packageRoot();
  const candidates = [join(root, 'weights', name), join(root, 'dist', 'browser', 'weights', name)];
  // None there: the first, so a WeightsError names the repository's place for them.
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}

const MAX_WEIGHTS_BYTES = 512 * 1024 * 1024;

/** The bytes of a bundled weights file. */
export async function loadBundledWeights(name: string): Promise<Uint8Array> {
  const file = bundledWeightsLocation(name);
  return readBoundedFile(file, MAX_WEIGHTS_BYTES, (reason) => new WeightsError(file, null, reason));
}

// Workers start from this script so that, when tsface runs from its TypeScript sources (under
// tsx), the worker registers the same loader before importing its module.
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.entry);
})();
`;

/**
 * A worker thread running the module at `module` (a URL without extension): its .ts source under
 * tsx, its compiled .js from dist/, whichever this file itself was loaded as.
 */
export function startNodeWorker(module: URL): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = `${module.href}.${fromSource ? 'ts' : 'js'}`;
  return new Worker(BOOTSTRAP, { eval: true, workerData: { entry, tsx: fromSource ? import.meta.resolve('tsx/esm/api') : null } });
}

export function spawnKernelWorker(onMessage: (m: any) => void, onError: (e: Error) => void): KernelWorker {
  const worker = startNodeWorker(new URL('../tensor/cpu/worker', import.meta.url));
  worker.on('message', onMessage);
  worker.on('error', onError);
  // Unref'd while idle, so an undisposed pool never keeps the process alive.
  worker.unref();
  return {
    post: (m, transfer) => worker.postMessage(m, transfer),
    hold: (busy) => (busy ? worker.ref() : worker.unref()),
    terminate: async () => {
      await worker.terminate();
    },
  };
}

/** Resolves after the event loop has handled what was waiting (a worker's reply, say). */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function kernelWorkerPort(): KernelWorkerPort | null {
  if (!parentPort) return null;
  const port = parentPort;
  return { onMessage: (h) => port.on('message', h), post: (m, transfer) => port.postMessage(m, transfer) };
}

/** Pixels of a browser image object (img, canvas, ImageBitmap); Node has none, so never. */
export function drawablePixels(_input: unknown): { width: number; height: number; data: Uint8ClampedArray; channels: 4 } | null {
  return null;
}
