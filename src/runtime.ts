// Choosing a backend: createRuntime({ backend, gpujsMode }), or the TSFACE_BACKEND environment
// variable (`cpu`, `gpujs`, `gpujs:MODE`). Explicit options win over the environment.
import type { Backend, BackendReport } from './tensor/backend.ts';
import { CpuBackend } from './tensor/cpu/backend.ts';
import { ArgumentError } from './errors.ts';
import { GpujsBackend, GPUJS_MODES, type GpujsMode } from './tensor/gpujs/backend.ts';
import { env as platformEnv } from './platform/index.ts';

export interface RuntimeOptions {
  backend?: 'cpu' | 'gpujs';
  gpujsMode?: GpujsMode;
  /** CPU backend threads (the gpu.js webasm mode sizes its own worker pool). */
  threads?: number;
  /** CPU backend: WebAssembly SIMD kernels (default, unless TSFACE_SIMD=0) or plain TypeScript throughout. */
  simd?: boolean;
  /**
   * gpu.js under its async contract (webasm split over worker threads). Off by default: with
   * gpu.js 2.24.1 the threaded path grows by about 30 MB per detect-and-embed (its fused
   * pipeline executor, even once every plan is built; per-op it was ~70 MB), while the
   * synchronous path stays flat (`npm run bench:soak -- 40 --backend gpujs --gpujs-mode webasm [--gpujs-threads]`).
   */
  gpujsThreads?: boolean;
}

export interface Runtime {
  backend: Backend;
  /**
   * What actually ran so far: backend, mode, threads, any fallback with its reason, and on a page
   * that is not cross-origin isolated why the CPU backend runs one thread (threadLimit).
   */
  report(): BackendReport;
  dispose(): Promise<void>;
}

export function parseBackendSpec(spec: string): Pick<RuntimeOptions, 'backend' | 'gpujsMode'> {
  const [backend, mode] = spec.split(':');
  if (backend !== 'cpu' && backend !== 'gpujs') throw new ArgumentError(`TSFACE_BACKEND must be cpu, gpujs or gpujs:MODE, got '${spec}'`);
  if (mode !== undefined && backend === 'cpu') throw new ArgumentError(`the cpu backend has no modes ('${spec}')`);
  if (mode !== undefined && !GPUJS_MODES.includes(mode as GpujsMode)) throw new ArgumentError(`unknown gpu.js mode '${mode}'`);
  return { backend, gpujsMode: mode as GpujsMode | undefined };
}

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const spec = platformEnv('TSFACE_BACKEND');
  const env = spec ? parseBackendSpec(spec) : {};
  const kind = options.backend ?? env.backend ?? 'cpu';
  const mode = options.gpujsMode ?? env.gpujsMode ?? 'auto';
  const backend: Backend = kind === 'gpujs' ? new GpujsBackend({ mode, async: options.gpujsThreads ?? false }) : new CpuBackend({ threads: options.threads, simd: options.simd });
  return { backend, report: () => backend.describe(), dispose: () => backend.dispose() };
}
