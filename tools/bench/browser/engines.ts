// The engines the browser bench runs, shared by the Node driver and the page: tsface's CPU backend
// and gpu.js modes, and the tf.js backends that anchor them on the same renderer.
export type BenchMode = 'cpu' | 'webgl2' | 'webgpu' | 'webasm';
export const BENCH_MODES: BenchMode[] = ['cpu', 'webgl2', 'webgpu', 'webasm'];

export type Engine =
  | { lib: 'tsface'; backend: 'cpu'; threads: number }
  | { lib: 'tsface'; backend: 'gpujs'; mode: 'webgl2' | 'webgpu' | 'webasm' }
  | { lib: 'tfjs'; backend: 'webgl' | 'webgpu' | 'wasm'; threads: number };

/**
 * The engines for the chosen modes, in running order. `cpu` brings tsface's CPU backend and
 * tf.js wasm at 1 thread, and at 2 (Web Workers, wasm threads) when the page is cross-origin
 * isolated; `webasm` alone still brings tf.js wasm, its anchor.
 */
export function enginesFor(modes: readonly BenchMode[], isolated: boolean): Engine[] {
  const threads = isolated ? [1, 2] : [1];
  const list: Engine[] = [];
  if (modes.includes('cpu')) for (const t of threads) list.push({ lib: 'tsface', backend: 'cpu', threads: t });
  for (const mode of ['webgl2', 'webgpu', 'webasm'] as const) if (modes.includes(mode)) list.push({ lib: 'tsface', backend: 'gpujs', mode });
  if (modes.includes('webgl2')) list.push({ lib: 'tfjs', backend: 'webgl', threads: 1 });
  if (modes.includes('webgpu')) list.push({ lib: 'tfjs', backend: 'webgpu', threads: 1 });
  if (modes.includes('cpu')) for (const t of threads) list.push({ lib: 'tfjs', backend: 'wasm', threads: t });
  else if (modes.includes('webasm')) list.push({ lib: 'tfjs', backend: 'wasm', threads: 1 });
  return list;
}

/** Which renderer an engine draws on: the page's WebGL2 or WebGPU one, or none (plain CPU). */
export function surfaceOf(e: Engine): 'webgl2' | 'webgpu' | 'cpu' {
  const name = e.lib === 'tsface' ? (e.backend === 'gpujs' ? e.mode : 'cpu') : e.backend;
  return name === 'webgl' || name === 'webgl2' ? 'webgl2' : name === 'webgpu' ? 'webgpu' : 'cpu';
}

/**
 * Engines that get the cut inputs of cases.ts: WebGL2 and WebGPU on an emulated renderer, where
 * tsface and tf.js alike run on a CPU pretending to be a GPU, and gpu.js's webasm mode.
 */
export function isSlow(e: Engine, emulated: boolean): boolean {
  return (surfaceOf(e) !== 'cpu' && emulated) || (e.lib === 'tsface' && e.backend === 'gpujs' && e.mode === 'webasm');
}

export function labelOf(e: Engine): string {
  if (e.lib === 'tfjs') return `tfjs-${e.backend}${e.backend === 'wasm' ? ` x${e.threads}` : ''}`;
  return e.backend === 'cpu' ? `tsface cpu x${e.threads}` : `tsface gpujs/${e.mode}`;
}

/** The engines split by renderer (CPU, WebGL2, WebGPU), in running order: each group is what one ratio compares. */
export function groupsOf(engines: readonly Engine[]): Engine[][] {
  const order = ['cpu', 'webgl2', 'webgpu'] as const;
  return order.map((surface) => engines.filter((e) => surfaceOf(e) === surface)).filter((g) => g.length);
}
