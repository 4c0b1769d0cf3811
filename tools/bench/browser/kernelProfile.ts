// Page side of `npm run bench:browser -- --profile`: where one forward of a net case spends its
// time on tsface's CPU backend or gpu.js's GL and WebGPU modes, seen from outside the backend (the browser
// APIs' hooks of hooks.ts, and a Proxy around the backend's public methods, as the Node
// profiler tools/bench/profile.ts does):
// - the pass as nets really run it (the backend's runGraph where it has one), its GL draws timed
//   between two syncs, 1-pixel reads of the framebuffer (SwiftShader has no
//   EXT_disjoint_timer_query, and Chromium's gl.finish() does not wait for the GPU; a sync per
//   draw also serialises what a real GPU would overlap, so shader time is an upper bound there),
//   uploads, read-backs, compiles, and the JavaScript left between them;
// - the same net op by op (runGraph hidden), each backend op's wall time split the same way, and
//   summed per op and shapes: on WebGPU, whose dispatches these hooks do not time, the only
//   per-kernel view (each op by op call includes its upload and read-back there).
import type { Backend } from '../../../src/tensor/backend.ts';
import type { Net, Tensor } from '../../../src/index.ts';
import { compileCounts, compileSince, glCounts, glSince, installHooks, setTimeDraws, type DrawStat, type GlCounts } from './hooks.ts';
import { warmUp } from '../timing.ts';

export interface Split {
  ms: number;
  /** Draw calls, each between two syncs. */
  shaderMs: number;
  /** The sync before each draw: uploads and other GL work still queued when a draw came. */
  drainMs: number;
  uploadMs: number;
  uploads: number;
  uploadBytes: number;
  readbackMs: number;
  readbacks: number;
  readbackBytes: number;
  compileMs: number;
  compiles: number;
  /** What is left: JavaScript in the backend and gpu.js, argument packing, waits on workers. */
  jsMs: number;
  draws: number;
}

export interface OpProfile extends Split {
  op: string;
  calls: number;
}

/** One op on one set of shapes (and options), over the calls of an op-by-op pass. */
export interface CallProfile {
  label: string;
  calls: number;
  ms: number;
}

export interface KernelProfile {
  input: number[];
  /** The pass as nets run it, draws untimed (no syncs added): the reference time, median of PASSES. */
  passMs: number;
  /** The same pass with every draw timed, split (the pass of median time among PASSES). */
  pass: Split;
  /** Per GL program (kernel: its argument and constant names), draws and shader ms in that pass. */
  programs: DrawStat[];
  /** The first op-by-op pass (compiles op-by-op kernels not built yet), and one after it, split per op. */
  firstOpByOpMs: number;
  opByOpMs: number;
  ops: OpProfile[];
  /** The same op-by-op pass per op and shapes, slowest first. */
  calls: CallProfile[];
}

function splitOf(ms: number, gl: GlCounts, compiles: { ms: number; wasm: number; glPrograms: number; gpuPipelines: number }): Split {
  const spent = gl.drawMs + gl.drainMs + gl.uploadMs + gl.readbackMs + compiles.ms;
  return {
    ms, shaderMs: gl.drawMs, drainMs: gl.drainMs, uploadMs: gl.uploadMs, uploads: gl.uploads, uploadBytes: gl.uploadBytes,
    readbackMs: gl.readbackMs, readbacks: gl.readbacks, readbackBytes: gl.readbackBytes,
    compileMs: compiles.ms, compiles: compiles.wasm + compiles.glPrograms + compiles.gpuPipelines, jsMs: ms - spent, draws: gl.draws,
  };
}

const SILENT = new Set(['release', 'describe', 'dispose', 'capabilities']);

/** An op call as `conv2d 1x64x56x56 128x64x1x1 {"stride":2}`: its tensors' shapes and its plain options. */
function callLabel(op: string, args: unknown[]): string {
  const parts = args.map((a) => {
    if (a && typeof a === 'object' && Array.isArray((a as { shape?: unknown }).shape)) return (a as Tensor).shape.join('x');
    if (a && typeof a === 'object' && !ArrayBuffer.isView(a)) {
      const plain = Object.entries(a).filter(([, v]) => typeof v === 'number' || typeof v === 'boolean' || Array.isArray(v));
      return plain.length ? JSON.stringify(Object.fromEntries(plain)) : '';
    }
    return typeof a === 'number' ? String(a) : '';
  });
  return [op, ...parts.filter((p) => p)].join(' ');
}

/** The backend with runGraph hidden and every op call timed and split into `ops`, and its wall time into `calls` by shapes. */
function opByOp(backend: Backend, ops: Map<string, OpProfile>, calls = new Map<string, CallProfile>()): Backend {
  return new Proxy(backend, {
    get(target, prop) {
      if (prop === 'runGraph') return undefined;
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function' || SILENT.has(String(prop))) return typeof value === 'function' ? value.bind(target) : value;
      return (...a: unknown[]) => {
        const gl0 = glCounts();
        const c0 = compileCounts();
        const t0 = performance.now();
        const result = value.apply(target, a);
        const done = () => {
          const s = splitOf(performance.now() - t0, glSince(gl0), compileSince(c0));
          const name = String(prop);
          const o = ops.get(name) ?? { op: name, calls: 0, ms: 0, shaderMs: 0, drainMs: 0, uploadMs: 0, uploads: 0, uploadBytes: 0, readbackMs: 0, readbacks: 0, readbackBytes: 0, compileMs: 0, compiles: 0, jsMs: 0, draws: 0 };
          o.calls++;
          for (const k of Object.keys(s) as (keyof Split)[]) o[k] += s[k];
          ops.set(name, o);
          const label = callLabel(name, a);
          const c = calls.get(label) ?? { label, calls: 0, ms: 0 };
          c.calls++;
          c.ms += s.ms;
          calls.set(label, c);
        };
        if (result instanceof Promise) return result.finally(done);
        done();
        return result;
      };
    },
  }) as Backend;
}

/** Passes per measurement; the one of median time is kept (the machine's load moves single passes). */
const PASSES = 3;

function medianOf<T>(items: T[], ms: (t: T) => number): T {
  return [...items].sort((a, b) => ms(a) - ms(b))[Math.floor(items.length / 2)];
}

export async function profileNet(backend: Backend, net: Net, x: Tensor, warmup: number, warmupMs = 0): Promise<KernelProfile> {
  installHooks();
  await warmUp(() => net.forward(backend, x), warmup, warmupMs);
  const plain: number[] = [];
  for (let i = 0; i < PASSES; i++) {
    const t = performance.now();
    await net.forward(backend, x);
    plain.push(performance.now() - t);
  }
  const passMs = medianOf(plain, (v) => v);

  setTimeDraws(true);
  try {
    const splits: { split: Split; programs: DrawStat[] }[] = [];
    for (let i = 0; i < PASSES; i++) {
      const gl0 = glCounts();
      const c0 = compileCounts();
      const t = performance.now();
      await net.forward(backend, x);
      const ms = performance.now() - t;
      const gl = glSince(gl0);
      splits.push({ split: splitOf(ms, gl, compileSince(c0)), programs: gl.programs });
    }
    const pass = medianOf(splits, (p) => p.split.ms);

    let t = performance.now();
    await net.forward(opByOp(backend, new Map()), x);
    const firstOpByOpMs = performance.now() - t;
    const opPasses: { ms: number; ops: Map<string, OpProfile>; calls: Map<string, CallProfile> }[] = [];
    for (let i = 0; i < PASSES; i++) {
      const ops = new Map<string, OpProfile>();
      const calls = new Map<string, CallProfile>();
      t = performance.now();
      await net.forward(opByOp(backend, ops, calls), x);
      opPasses.push({ ms: performance.now() - t, ops, calls });
    }
    const opPass = medianOf(opPasses, (p) => p.ms);
    return {
      input: [...x.shape], passMs, pass: pass.split, programs: pass.programs.sort((a, b) => b.ms - a.ms),
      firstOpByOpMs, opByOpMs: opPass.ms, ops: [...opPass.ops.values()].sort((a, b) => b.ms - a.ms),
      calls: [...opPass.calls.values()].sort((a, b) => b.ms - a.ms),
    };
  } finally {
    setTimeDraws(false);
  }
}
