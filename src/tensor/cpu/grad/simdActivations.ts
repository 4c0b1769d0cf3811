// ReLU and PReLU backward on WebAssembly SIMD, four positions per instruction, as selects by the
// sign of x (or y) rather than branches: the signs are a coin toss, and mispredicted branches
// cost the TypeScript loops most of their time. PReLU's dAlpha takes its products x * dy in
// float64 (exact for float32 operands) and sums them in float64, as the reference does, in two
// lanes. Data is copied through the module's memory a chunk at a time.
import { compileModule, ensureBytes, I32, instantiate, op, uleb, V128, type WasmFunction } from '../wasm.ts';
import { preluBackward, reluBackward } from './activations.ts';

const gt = [0xfd, ...uleb(0x44)];
const bitselect = [0xfd, ...uleb(0x52)];
const promoteLow = [0xfd, ...uleb(0x5f)];
const dadd = [0xfd, ...uleb(0xf0)];
const dmul = [0xfd, ...uleb(0xf2)];
/** Lanes 2, 3 of a vector moved to lanes 0, 1. */
const highHalf = op.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);

// preluPlane(x, dy, dx, groups, alpha, sum): `groups` vectors of 4 positions from byte offsets
// x and dy to dx, the slope splatted from the float at `alpha`, the two lanes of float64 partial sums of
// x * dy where x <= 0 stored at `sum`.
const [X, DY, DX, GROUPS, ALPHA, SUM] = [0, 1, 2, 3, 4, 5];
const [J] = [6];
const [A, V, D, M, S0, S1] = [7, 8, 9, 10, 11, 12];

function preluFunction(): WasmFunction {
  const body = [
    ...op.get(ALPHA), ...op.loadSplat(0), ...op.set(A),
    ...op.zero, ...op.set(S0), ...op.zero, ...op.set(S1),
    ...op.i32(0), ...op.set(J),
    ...op.loop,
    ...op.get(X), ...op.get(J), ...op.add, ...op.load(0), ...op.set(V),
    ...op.get(DY), ...op.get(J), ...op.add, ...op.load(0), ...op.set(D),
    ...op.get(DX), ...op.get(J), ...op.add,
    ...op.get(D), ...op.get(A), ...op.get(D), ...op.fmul, ...op.get(V), ...op.zero, ...gt, ...bitselect,
    ...op.store(0),
    // min(x, 0): x where x <= 0, else 0, so the sum takes x * dy only there.
    ...op.get(V), ...op.zero, ...op.fmin, ...op.set(M),
    ...op.get(S0), ...op.get(M), ...promoteLow, ...op.get(D), ...promoteLow, ...dmul, ...dadd, ...op.set(S0),
    ...op.get(S1), ...op.get(M), ...op.get(M), ...highHalf, ...promoteLow, ...op.get(D), ...op.get(D), ...highHalf, ...promoteLow, ...dmul, ...dadd, ...op.set(S1),
    ...op.get(J), ...op.i32(16), ...op.add, ...op.set(J),
    ...op.get(GROUPS), ...op.i32(1), ...op.sub, ...op.set(GROUPS),
    ...op.get(GROUPS), ...op.brIf(0), ...op.end,
    ...op.get(SUM), ...op.get(S0), ...op.get(S1), ...dadd, ...op.store(0),
  ];
  return { name: 'preluPlane', params: 6, locals: [[1, I32], [6, V128]], body };
}

// reluRun(y, dy, dx, groups): dx = dy where y > 0, else 0, over `groups` vectors of 4.
function reluFunction(): WasmFunction {
  const [Y, DY, DX, GROUPS, J] = [0, 1, 2, 3, 4];
  const body = [
    ...op.i32(0), ...op.set(J),
    ...op.loop,
    ...op.get(DX), ...op.get(J), ...op.add,
    ...op.get(DY), ...op.get(J), ...op.add, ...op.load(0),
    ...op.get(Y), ...op.get(J), ...op.add, ...op.load(0), ...op.zero, ...gt,
    ...op.and, ...op.store(0),
    ...op.get(J), ...op.i32(16), ...op.add, ...op.set(J),
    ...op.get(GROUPS), ...op.i32(1), ...op.sub, ...op.set(GROUPS),
    ...op.get(GROUPS), ...op.brIf(0), ...op.end,
  ];
  return { name: 'reluRun', params: 4, locals: [[1, I32]], body };
}

let compiled: WebAssembly.Module | null | undefined;
let instance: { memory: WebAssembly.Memory; exports: { preluPlane: (...a: number[]) => void; reluRun: (...a: number[]) => void } } | null = null;

export function simdActivationsSupported(): boolean {
  if (compiled === undefined) compiled = compileModule([preluFunction(), reluFunction()]);
  return compiled !== null;
}

/** Values per array copied into the module's memory at a time: the three arrays of a chunk stay in L2. */
const CHUNK = 1 << 15;

/** The module's memory laid out as [32 bytes of scalars | three arrays of `values` floats]. */
function arena(values: number) {
  instance ??= instantiate(compiled!);
  const at = [32, 32 + 4 * values, 32 + 8 * values];
  ensureBytes(instance.memory, 32 + 12 * values);
  const buffer = instance.memory.buffer;
  return { exports: instance.exports, buffer, at, arrays: at.map((a) => new Float32Array(buffer, a, values)) };
}

/** As activations.ts's reluBackward, the same values. */
export function simdReluBackward(y: Float32Array, dy: Float32Array, dx: Float32Array): void {
  if (y.length < 4 || !simdActivationsSupported()) {
    reluBackward(y, dy, dx);
    return;
  }
  const values = Math.min(y.length, CHUNK);
  const { exports, at, arrays: [ys, dys, dxs] } = arena(values);
  for (let from = 0; from < y.length; from += CHUNK) {
    const count = Math.min(CHUNK, y.length - from);
    ys.set(y.subarray(from, from + count));
    dys.set(dy.subarray(from, from + count));
    const groups = count >> 2;
    // The kernel's loop runs at least once.
    if (groups > 0) exports.reluRun(at[0], at[1], at[2], groups);
    for (let j = 4 * groups; j < count; j++) dxs[j] = ys[j] > 0 ? dys[j] : 0;
    dx.set(dxs.subarray(0, count), from);
  }
}

/** As activations.ts's preluBackward (dAlpha summed in another order: within float64 rounding). */
export function simdPreluBackward(
  x: Float32Array, alpha: Float32Array, dy: Float32Array, planes: number, channels: number, plane: number,
  dx: Float32Array, dAlpha: Float32Array,
): void {
  if (plane < 4 || !simdActivationsSupported()) {
    preluBackward(x, alpha, dy, planes, channels, plane, dx, dAlpha);
    return;
  }
  const perChunk = Math.max(1, Math.floor(CHUNK / plane));
  const { exports, buffer, at: [xAt, dyAt, dxAt], arrays: [xs, dys, dxs] } = arena(Math.min(planes, perChunk) * plane);
  // The slope at byte 0, the two float64 sums at byte 16.
  const slope = new Float32Array(buffer, 0, 1);
  const sum = new Float64Array(buffer, 16, 2);
  const groups = plane >> 2;
  const sums = new Float64Array(channels);
  const run = exports.preluPlane;
  for (let p0 = 0; p0 < planes; p0 += perChunk) {
    const count = Math.min(perChunk, planes - p0);
    const from = p0 * plane;
    const to = from + count * plane;
    xs.set(x.subarray(from, to));
    dys.set(dy.subarray(from, to));
    for (let q = 0; q < count; q++) {
      const c = (p0 + q) % channels;
      const a = alpha[c];
      slope[0] = a;
      const at = q * plane;
      run(xAt + 4 * at, dyAt + 4 * at, dxAt + 4 * at, groups, 0, 16);
      let s = sum[0] + sum[1];
      // The plane's last plane % 4 positions.
      for (let j = at + 4 * groups; j < at + plane; j++) {
        const v = xs[j];
        if (v > 0) {
          dxs[j] = dys[j];
        } else {
          dxs[j] = a * dys[j];
          s += v * dys[j];
        }
      }
      sums[c] += s;
    }
    dx.set(dxs.subarray(0, count * plane), from);
  }
  for (let c = 0; c < channels; c++) dAlpha[c] = sums[c];
}
