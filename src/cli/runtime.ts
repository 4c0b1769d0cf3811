import type { Backend } from '../tensor/backend.ts';
import { CpuBackend } from '../tensor/cpu/backend.ts';

/** What a CLI command runs on; the gpu.js backends plug in here. */
export interface Runtime {
  backend: Backend;
}

export function createCliRuntime(threads?: number): Runtime {
  return { backend: new CpuBackend({ threads }) };
}
