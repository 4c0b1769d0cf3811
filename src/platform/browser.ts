// The platform seam, the browser's side (the bundle swaps node.ts for this file): environment
// from the page, gpu.js's browser build (WebGL2, WebGL, WebGPU, webasm, cpu), bundled weights
// fetched from beside the bundle, kernel workers as module Web Workers.
import gpujs from 'gpu.js';
import { PlatformError, WeightsError } from '../errors.ts';
import type { KernelWorker, KernelWorkerPort } from './types.ts';

export const platformName = 'browser';

/** Settings a page may give as globalThis.TSFACE_ENV = { TSFACE_THREADS: '2', ... }. */
/** A page's main thread has a document; a Web Worker has none. */
const onPageMainThread = typeof (globalThis as { document?: unknown }).document !== 'undefined';

export function env(name: string): string | undefined {
  const given = (globalThis as { TSFACE_ENV?: Record<string, string> }).TSFACE_ENV;
  return given?.[name];
}

/** Chromium has relaxed SIMD on by default; elsewhere compiling a module probes whether it is there. */
export function allowRelaxedSimd(): void {}

export function hardwareThreads(): number {
  return globalThis.navigator?.hardwareConcurrency ?? 1;
}

// Read once: a page (or worker) is cross-origin isolated or not for its whole life. The check of
// crossOriginIsolated comes first, so a page without it never even looks SharedArrayBuffer up.
const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true && typeof SharedArrayBuffer !== 'undefined';

/**
 * Why Web Workers cannot share memory with this thread, or null where they can: only a page
 * served with the COOP/COEP headers (and the workers it starts) is cross-origin isolated and has
 * SharedArrayBuffer and Atomics to share.
 */
export function sharedMemoryUnavailable(): string | null {
  if (isolated) return null;
  const where = onPageMainThread ? 'the page' : 'this worker\'s page';
  return `${where} is not cross-origin isolated (no COOP/COEP headers), so Web Workers cannot share memory with it: one thread`;
}

export function canShareMemory(): boolean {
  return isolated;
}

/**
 * Whether this thread avoids detaching ArrayBuffers: a page's main thread. In Chromium 156 the
 * first detach of a buffer there in the middle of a detection (a kernel memory growing, a buffer
 * moved to a kernel worker) made V8 throw away the decoder's, the integral image's and the
 * weights reader's optimised code at once ("Invalidating protector cell ArrayBufferDetaching"
 * under `--js-flags=--trace-protector-invalidation`), so the page's second detection ran in lower
 * tiers again. Its kernel memories then grow in place (wasm.ts kernelMemory) and its passes for
 * the workers go through shared memory (CpuBackend.remotePass). The kernel workers keep growing
 * ordinary memories and moving their outputs back: doing neither there too timed worse
 * (second/steady on two threads, in turns: median 1.32 against 1.17 over six runs each).
 */
export function keepBuffersAttached(): boolean {
  return onPageMainThread;
}

/** Whether this thread may block in Atomics.wait: a worker may, a page's main thread may not. */
export function mayBlockThread(): boolean {
  return !onPageMainThread;
}

export function loadGpuJs(): { GPU: any; [name: string]: any } {
  return gpujs as unknown as { GPU: any; [name: string]: any };
}

/** Where a bundled weights file lives: a URL beside the bundle (dist/browser/weights/). */
export function bundledWeightsLocation(name: string): string {
  return new URL(`./weights/${name}`, import.meta.url).href;
}

export async function loadBundledWeights(name: string): Promise<Uint8Array> {
  const url = bundledWeightsLocation(name);
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new WeightsError(url, null, `cannot be fetched: ${(e as Error).message}`);
  }
  if (!response.ok) throw new WeightsError(url, null, `cannot be fetched: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

export function packageRoot(): string {
  throw new PlatformError('the browser has no package folder: tsface loads its bundled weights with fetch');
}

export function spawnKernelWorker(onMessage: (m: any) => void, onError: (e: Error) => void): KernelWorker {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  worker.onmessage = (e) => onMessage(e.data);
  worker.onerror = (e) => onError(new Error(e.message));
  return {
    post: (m, transfer) => worker.postMessage(m, transfer ?? []),
    hold: () => {},
    terminate: async () => worker.terminate(),
  };
}

/**
 * Resolves after the event loop has handled what was waiting (a worker's reply, say). A message
 * to a channel of our own, since setTimeout(0) is clamped to 4 ms once nested.
 */
const wake = new MessageChannel();
const woken: (() => void)[] = [];
wake.port1.onmessage = () => woken.shift()?.();
export function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    woken.push(resolve);
    wake.port2.postMessage(null);
  });
}

export function kernelWorkerPort(): KernelWorkerPort | null {
  const scope = globalThis as unknown as { postMessage?: (m: unknown, transfer: ArrayBuffer[]) => void; addEventListener?: (t: string, h: (e: MessageEvent) => void) => void };
  if (onPageMainThread || !scope.addEventListener) return null;
  return { onMessage: (h) => scope.addEventListener!('message', (e) => h(e.data)), post: (m, transfer) => scope.postMessage!(m, transfer ?? []) };
}

type Drawable = HTMLImageElement | HTMLCanvasElement | HTMLVideoElement | ImageBitmap | OffscreenCanvas;

function isDrawable(input: unknown): input is Drawable {
  const is = (name: string) => typeof (globalThis as Record<string, unknown>)[name] === 'function' && input instanceof ((globalThis as Record<string, unknown>)[name] as new () => unknown);
  return is('HTMLImageElement') || is('HTMLCanvasElement') || is('HTMLVideoElement') || is('ImageBitmap') || is('OffscreenCanvas');
}

/**
 * RGBA pixels of an <img>, <canvas>, <video> frame or ImageBitmap, drawn once onto a canvas of
 * its natural size. Null for anything else (bytes, ImageData and raw buffers need no drawing).
 */
export function drawablePixels(input: unknown): { width: number; height: number; data: Uint8ClampedArray; channels: 4 } | null {
  if (!isDrawable(input)) return null;
  const width = 'naturalWidth' in input ? input.naturalWidth : 'videoWidth' in input ? input.videoWidth : input.width;
  const height = 'naturalHeight' in input ? input.naturalHeight : 'videoHeight' in input ? input.videoHeight : input.height;
  if (!width || !height) throw new PlatformError('the image has no pixels yet (not loaded, or 0x0): await img.decode() first');
  if (input instanceof HTMLCanvasElement || input instanceof OffscreenCanvas) {
    const ctx = input.getContext('2d') as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
    if (ctx) return { width, height, data: ctx.getImageData(0, 0, width, height).data, channels: 4 };
  }
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new PlatformError('no 2D canvas context to read the image with');
  ctx.drawImage(input, 0, 0);
  return { width, height, data: ctx.getImageData(0, 0, width, height).data, channels: 4 };
}
