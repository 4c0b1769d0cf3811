// Cross-channel LRN with beta 0.75 (FaceNet's and Caffe's) on WebAssembly SIMD, in float32:
// y = x / t^0.75 with t = k + alpha/size * (sum of x^2 over the channel window), and
// t^0.75 = sqrt(t) * sqrt(sqrt(t)), four positions per instruction. Other betas need pow,
// which wasm lacks, and stay in TypeScript.
import { compileModule, ensureBytes, I32, instantiate, op, V128, type WasmFunction } from './wasm.ts';

// lrnPlane(window, x, dst, count, planeBytes, groups, params): `window` is the first of `count`
// planes (planeBytes apart) whose squares are summed, x the channel's own plane, `groups`
// vectors of 4 positions, params [k, scale] floats.
const [WINDOW, X, DST, COUNT, PLANE_BYTES, GROUPS, PARAMS] = [0, 1, 2, 3, 4, 5, 6];
const [J, Q, P] = [7, 8, 9];
const [S, V, R] = [10, 11, 12];

function lrnFunction(): WasmFunction {
  const body = [
    ...op.i32(0), ...op.set(J),
    ...op.loop,
    ...op.zero, ...op.set(S), ...op.get(WINDOW), ...op.get(J), ...op.add, ...op.set(P), ...op.get(COUNT), ...op.set(Q),
    ...op.loop,
    ...op.get(P), ...op.load(0), ...op.set(V),
    ...op.get(S), ...op.get(V), ...op.get(V), ...op.fmul, ...op.fadd, ...op.set(S),
    ...op.get(P), ...op.get(PLANE_BYTES), ...op.add, ...op.set(P),
    ...op.get(Q), ...op.i32(1), ...op.sub, ...op.set(Q),
    ...op.get(Q), ...op.brIf(0), ...op.end,
    // r = sqrt(k + scale * s); y = x / (r * sqrt(r))
    ...op.get(PARAMS), ...op.loadSplat(0), ...op.get(PARAMS), ...op.loadSplat(4), ...op.get(S), ...op.fmul, ...op.fadd, ...op.fsqrt, ...op.set(R),
    ...op.get(DST), ...op.get(J), ...op.add,
    ...op.get(X), ...op.get(J), ...op.add, ...op.load(0),
    ...op.get(R), ...op.get(R), ...op.fsqrt, ...op.fmul, ...op.fdiv,
    ...op.store(0),
    ...op.get(J), ...op.i32(16), ...op.add, ...op.set(J),
    ...op.get(GROUPS), ...op.i32(1), ...op.sub, ...op.set(GROUPS),
    ...op.get(GROUPS), ...op.brIf(0), ...op.end,
  ];
  return { name: 'lrnPlane', params: 7, locals: [[3, I32], [3, V128]], body };
}

let compiled: WebAssembly.Module | null | undefined;
let instance: { memory: WebAssembly.Memory; exports: { lrnPlane: (...a: number[]) => void } } | null = null;

export function simdLrnFits(beta: number): boolean {
  if (compiled === undefined) compiled = compileModule([lrnFunction()]);
  return compiled !== null && beta === 0.75;
}

/** LRN over the channels of n items of c planes; as lrnChannels for beta 0.75, within float32 rounding. */
export function simdLrn(x: Float32Array, n: number, c: number, plane: number, size: number, alpha: number, k: number, out: Float32Array): void {
  if (!simdLrnFits(0.75)) throw new Error('WebAssembly SIMD is not available');
  const before = Math.floor(size / 2);
  const after = Math.floor((size - 1) / 2);
  const item = c * plane;
  // Layout: [params | one item's planes (+ a vector of slack: the last group may run past) | its output (+ slack)].
  const srcAt = 16;
  const dstAt = srcAt + 4 * item + 16;
  instance ??= instantiate(compiled!);
  ensureBytes(instance.memory, dstAt + 4 * item + 16);
  const buffer = instance.memory.buffer;
  const params = new Float32Array(buffer, 0, 2);
  params[0] = k;
  params[1] = alpha / size;
  const src = new Float32Array(buffer, srcAt, item);
  const dst = new Float32Array(buffer, dstAt, item);
  const groups = Math.ceil(plane / 4);
  for (let b = 0; b < n; b++) {
    src.set(x.subarray(b * item, (b + 1) * item));
    // Channel order matters: a plane's last vector spills into the next plane, written after it.
    for (let ch = 0; ch < c; ch++) {
      const lo = Math.max(0, ch - before);
      const hi = Math.min(c - 1, ch + after);
      instance.exports.lrnPlane(srcAt + 4 * lo * plane, srcAt + 4 * ch * plane, dstAt + 4 * ch * plane, hi - lo + 1, 4 * plane, groups, 0);
    }
    out.set(dst, b * item);
  }
}
