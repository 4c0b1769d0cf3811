// Cross-channel LRN backward with beta 0.75 (FaceNet's) on WebAssembly SIMD, four positions per
// instruction and in float32, as the forward simdLrn.ts: with d = k + alpha/size * (window sum
// of x^2) and r = 1/d, first pass t = dy * y * r and dy * d^-0.75 = dy * sqrt(r * sqrt(r));
// second pass dx = dy * d^-0.75 - 2 * alpha/size * 0.75 * x * (sum of t over the windows holding
// the channel). The correction is some 1e-4 of the first term, so float32 stays far inside the
// reference's tolerance. One item's planes at a time go through the module's memory.
import { compileModule, ensureBytes, I32, instantiate, op, V128, type WasmFunction } from '../wasm.ts';
import { lrnBackwardRows } from './lrnBackwardRows.ts';

// lrnTerms(window, count, planeBytes, y, dy, t, first, groups, params): `window` is the first of
// `count` x planes (planeBytes apart) whose squares are summed; y, dy the channel's planes; t and
// first its outputs; params [k, scale, factor].
// lrnDx(window, count, planeBytes, x, first, dx, unused, groups, params): `window` is the first of
// `count` t planes summed; dx = first - factor * x * sum.
const [WINDOW, COUNT, PLANE_BYTES, A, B, C, D, GROUPS, PARAMS] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
const [J, Q, P] = [9, 10, 11];
const [S, V, R] = [12, 13, 14];

/** S = sum over `count` planes from WINDOW + J of v (squared when `square`). */
function windowSum(square: boolean): number[] {
  return [
    ...op.zero, ...op.set(S), ...op.get(WINDOW), ...op.get(J), ...op.add, ...op.set(P), ...op.get(COUNT), ...op.set(Q),
    ...op.loop,
    ...op.get(P), ...op.load(0), ...op.set(V),
    ...op.get(S), ...op.get(V), ...(square ? [...op.get(V), ...op.fmul] : []), ...op.fadd, ...op.set(S),
    ...op.get(P), ...op.get(PLANE_BYTES), ...op.add, ...op.set(P),
    ...op.get(Q), ...op.i32(1), ...op.sub, ...op.tee(Q), ...op.brIf(0), ...op.end,
  ];
}

const at = (base: number) => [...op.get(base), ...op.get(J), ...op.add];
const nextGroup = [
  ...op.get(J), ...op.i32(16), ...op.add, ...op.set(J),
  ...op.get(GROUPS), ...op.i32(1), ...op.sub, ...op.tee(GROUPS), ...op.brIf(0), ...op.end,
];

function termsFunction(): WasmFunction {
  // A = y, B = dy, C = t, D = first.
  const body = [
    ...op.i32(0), ...op.set(J),
    ...op.loop,
    ...windowSum(true),
    // r = 1 / (k + scale * s)
    ...op.get(PARAMS), ...op.loadSplat(0), ...op.get(PARAMS), ...op.loadSplat(4), ...op.get(S), ...op.fmul, ...op.fadd, ...op.set(R),
    ...op.get(PARAMS), ...op.loadSplat(12), ...op.get(R), ...op.fdiv, ...op.set(R),
    ...at(B), ...op.load(0), ...op.set(V),
    ...at(C), ...op.get(V), ...at(A), ...op.load(0), ...op.fmul, ...op.get(R), ...op.fmul, ...op.store(0),
    ...at(D), ...op.get(V), ...op.get(R), ...op.get(R), ...op.fsqrt, ...op.fmul, ...op.fsqrt, ...op.fmul, ...op.store(0),
    ...nextGroup,
  ];
  return { name: 'lrnTerms', params: 9, locals: [[3, I32], [3, V128]], body };
}

function dxFunction(): WasmFunction {
  // A = x, B = first, C = dx.
  const body = [
    ...op.i32(0), ...op.set(J),
    ...op.loop,
    ...windowSum(false),
    ...at(C), ...at(B), ...op.load(0),
    ...op.get(PARAMS), ...op.loadSplat(8), ...at(A), ...op.load(0), ...op.fmul, ...op.get(S), ...op.fmul,
    ...op.fsub, ...op.store(0),
    ...nextGroup,
  ];
  return { name: 'lrnDx', params: 9, locals: [[3, I32], [3, V128]], body };
}

let compiled: WebAssembly.Module | null | undefined;
let instance: { memory: WebAssembly.Memory; exports: Record<'lrnTerms' | 'lrnDx', (...a: number[]) => void> } | null = null;

function supported(): boolean {
  if (compiled === undefined) compiled = compileModule([termsFunction(), dxFunction()]);
  return compiled !== null;
}

/** As lrnBackward.ts's lrnBackward, within float32 rounding for beta 0.75; other betas go to lrnBackwardRows. */
export function simdLrnBackward(
  x: Float32Array, y: Float32Array, dy: Float32Array, n: number, c: number, plane: number,
  size: number, alpha: number, beta: number, k: number, dx: Float32Array,
): void {
  if (beta !== 0.75 || plane < 4 || !supported()) {
    lrnBackwardRows(x, y, dy, n, c, plane, size, alpha, beta, k, dx);
    return;
  }
  const before = Math.floor(size / 2);
  const after = Math.floor((size - 1) / 2);
  const item = c * plane;
  // Layout: [params | x | y | dy | t | first | dx], each array with a vector of slack: a plane's
  // last vector may run into the next plane, which is written after it (channels in order).
  const span = 4 * item + 16;
  const [xAt, yAt, dyAt, tAt, firstAt, dxAt] = [0, 1, 2, 3, 4, 5].map((i) => 16 + i * span);
  instance ??= instantiate(compiled!);
  ensureBytes(instance.memory, dxAt + span);
  const buffer = instance.memory.buffer;
  const params = new Float32Array(buffer, 0, 4);
  params[0] = k;
  params[1] = alpha / size;
  params[2] = 2 * (alpha / size) * beta;
  params[3] = 1;
  const xs = new Float32Array(buffer, xAt, item);
  const ys = new Float32Array(buffer, yAt, item);
  const dys = new Float32Array(buffer, dyAt, item);
  const dxs = new Float32Array(buffer, dxAt, item);
  const groups = Math.ceil(plane / 4);
  const { lrnTerms, lrnDx } = instance.exports;
  for (let b = 0; b < n; b++) {
    xs.set(x.subarray(b * item, (b + 1) * item));
    ys.set(y.subarray(b * item, (b + 1) * item));
    dys.set(dy.subarray(b * item, (b + 1) * item));
    for (let ch = 0; ch < c; ch++) {
      const lo = Math.max(0, ch - before);
      const hi = Math.min(c - 1, ch + after);
      const own = 4 * ch * plane;
      lrnTerms(xAt + 4 * lo * plane, hi - lo + 1, 4 * plane, yAt + own, dyAt + own, tAt + own, firstAt + own, groups, 0);
    }
    for (let ch = 0; ch < c; ch++) {
      // The windows holding channel ch: i in [ch - after, ch + before].
      const lo = Math.max(0, ch - after);
      const hi = Math.min(c - 1, ch + before);
      const own = 4 * ch * plane;
      lrnDx(tAt + 4 * lo * plane, hi - lo + 1, 4 * plane, xAt + own, firstAt + own, dxAt + own, 0, groups, 0);
    }
    dx.set(dxs, b * item);
  }
}
