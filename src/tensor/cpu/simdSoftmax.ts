// Two-channel softmax (MTCNN's face scores) on WebAssembly SIMD, bit for bit what
// pointwise.ts's softmaxChannelsScalar computes: four positions per step, the max, the float32
// differences, one exp per position (the larger logit's exp is exactly 1), the float32 sum and
// the division (or the reciprocal and the product for rows) in f32x4 lanes, all correctly
// rounded float32 operations as the TypeScript ones are.
//
// The exp is expf.ts's, operation for operation: its fused multiply-adds are evaluated in f64x2
// lanes the way fmaf does (the product of two float32 values is exact in float64, the sum is
// rounded to float64 and then to float32). Rounding twice differs from rounding once only when
// the float64 sum lies exactly halfway between two float32 values, and then its low 29 mantissa
// bits are 1 followed by 28 zeros. Every such sum (of the steps whose float64 sum can be
// inexact: the polynomial's and the last) raises the vector's flag, as does a NaN; the flagged
// vectors' positions are recomputed by the scalar code, which settles halfway cases exactly.
// (The test on the bits is exact for float32-normal sums; the sums here are never float32
// subnormals other than exact ones, which test/simd-softmax.test.ts confirms on every float32
// difference in [-104, 0]: 34 of those 280 million vectors raise the flag, and none of them
// would have needed the scalar code.) Differences below
// -104 give 0, as expf's do. Lanes 0, 1 and 2, 3 are two independent float64 chains, emitted
// step by step side by side.
import { compileModule, ensureBytes, I32, op, uleb, V128, kernelMemory, type WasmFunction } from './wasm.ts';

const simd = (code: number) => [0xfd, ...uleb(code)];
/** Instructions beyond wasm.ts's set. */
const ins = {
  f32eq: simd(0x41),
  f32ne: simd(0x42),
  f32lt: simd(0x43),
  f32nearest: simd(0x6a),
  f32pmax: simd(0xeb),
  demote: simd(0x5e), // f32x4.demote_f64x2_zero
  promote: simd(0x5f), // f64x2.promote_low_f32x4
  f64add: simd(0xf0),
  f64mul: simd(0xf2),
  i64eq: simd(0xd6),
  or: simd(0x50),
  bitselect: simd(0x52),
  anyTrue: simd(0x53),
  truncSat: simd(0xf8), // i32x4.trunc_sat_f32x4_s
  ishl: simd(0xab),
  iadd: simd(0xae),
  isub: simd(0xb1),
};

function constBytes(write: (view: DataView) => void): number[] {
  const view = new DataView(new ArrayBuffer(16));
  write(view);
  return [0xfd, ...uleb(0x0c), ...new Uint8Array(view.buffer)];
}
const constF32x4 = (v: number) => constBytes((d) => { for (let i = 0; i < 4; i++) d.setFloat32(4 * i, v, true); });
const constF64x2 = (v: number) => constBytes((d) => { for (let i = 0; i < 2; i++) d.setFloat64(8 * i, v, true); });
const constI64x2 = (lo: number, hi: number) => constBytes((d) => { for (let i = 0; i < 2; i++) { d.setUint32(8 * i, lo, true); d.setUint32(8 * i + 4, hi, true); } });

// expf.ts's constants (float32 values).
const f = Math.fround;
const LN2_HI = f(0.693145751953125);
const LN2_LO = f(1.428606765330187045e-6);
const INV_LN2 = f(1.4426950408889634);
const POLY = [1.98527617612853646278381e-4, 1.39304355252534151077271e-3, 8.33336077630519866943359e-3, 4.16664853692054748535156e-2, 1.66666671633720397949219e-1, 0.5].map(f);

// i8x16.shuffle patterns: lanes 2, 3 of the first operand into lanes 0, 1; lanes 0, 1 of each operand.
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
const LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

// Locals. Parameters (i32): a, b (the channels' first vectors, results written over them),
// vectors, flags (where flagged vectors' offsets from a are listed; the list's end is stored at
// address 0). The exp test function has the same parameters and reads b only.
const [A, B, N, FLAGS] = [0, 1, 2, 3];
const PARAMS = 4;
const V = 4; // first v128 local
let next = V;
const local = () => next++;
// constants, set once before the loop
const K = {
  negLn2Hi: local(), negLn2Lo: local(), poly: POLY.map(() => local()), mask: local(), halfway: local(),
  invLn2: local(), one: local(), zero: local(), floor: local(), bias: local(),
};
const [X0, X1, DA, DB, D, Q, QI, S, U, P, W0, W1, ACC] = Array.from({ length: 13 }, local);
/** Per half (lanes 0, 1 and lanes 2, 3 of a vector, as float64): x, q, s, u, the sum. */
const HALVES = [0, 1].map(() => ({ x: local(), q: local(), s: local(), u: local(), sum: local() }));
type Half = (typeof HALVES)[number];
const V128_LOCALS = next - V;

const setConstants = [
  ...constF64x2(-LN2_HI), ...op.set(K.negLn2Hi),
  ...constF64x2(-LN2_LO), ...op.set(K.negLn2Lo),
  ...POLY.flatMap((c, i) => [...constF64x2(c), ...op.set(K.poly[i])]),
  ...constI64x2(0x1fffffff, 0), ...op.set(K.mask),
  ...constI64x2(0x10000000, 0), ...op.set(K.halfway),
  ...constF32x4(INV_LN2), ...op.set(K.invLn2),
  ...constF32x4(1), ...op.set(K.one),
  ...op.zero, ...op.set(K.zero),
  ...constF32x4(-104), ...op.set(K.floor),
  ...op.constI32x4(127), ...op.set(K.bias),
];

/**
 * fmaf(a, b, c) on both halves, each step for one half then the other (two independent chains
 * for the core to overlap), rounded to float32 and kept as float64 in dst, unless `keep`: then
 * the float64 sum stays in `sum`. `check`: lanes whose sum is halfway between two float32 values
 * raise ACC. The first two steps (the reduction) need none: their sums are exact in float64
 * (q has 8 bits, LN2_HI's last bit is 2^-15, LN2_LO's 2^-43, and x, s are multiples of 2^-25
 * under 2^7 whenever q is not 0), and an exact sum rounds once.
 */
function fma(a: (h: Half) => number, b: (h: Half) => number, c: (h: Half) => number, dst: (h: Half) => number, check = true, keep = false): number[] {
  const code: number[] = [];
  for (const h of HALVES) code.push(...op.get(a(h)), ...op.get(b(h)), ...ins.f64mul, ...op.get(c(h)), ...ins.f64add, ...op.set(h.sum));
  if (check) {
    for (const h of HALVES) code.push(...op.get(h.sum), ...op.get(K.mask), ...op.and, ...op.get(K.halfway), ...ins.i64eq, ...op.get(ACC), ...ins.or, ...op.set(ACC));
  }
  if (!keep) for (const h of HALVES) code.push(...op.get(h.sum), ...ins.demote, ...ins.promote, ...op.set(dst(h)));
  return code;
}
const k = (l: number) => () => l;

/** From D and Q through to w = fmaf(f(s s), u, s) as float32 lanes in W0. */
const halves = [
  ...op.get(D), ...ins.promote, ...op.set(HALVES[0].x),
  ...op.get(D), ...op.get(D), ...op.shuffle(HIGH_HALF), ...ins.promote, ...op.set(HALVES[1].x),
  ...op.get(Q), ...ins.promote, ...op.set(HALVES[0].q),
  ...op.get(Q), ...op.get(Q), ...op.shuffle(HIGH_HALF), ...ins.promote, ...op.set(HALVES[1].q),
  ...fma((h) => h.q, k(K.negLn2Hi), (h) => h.x, (h) => h.s, false),
  ...fma((h) => h.q, k(K.negLn2Lo), (h) => h.s, (h) => h.s, false),
  ...fma(k(K.poly[0]), (h) => h.s, k(K.poly[1]), (h) => h.u),
  ...fma((h) => h.u, (h) => h.s, k(K.poly[2]), (h) => h.u),
  ...fma((h) => h.u, (h) => h.s, k(K.poly[3]), (h) => h.u),
  ...fma((h) => h.u, (h) => h.s, k(K.poly[4]), (h) => h.u),
  ...fma((h) => h.u, (h) => h.s, k(K.poly[5]), (h) => h.u),
  // f(s s) into x (free now)
  ...HALVES.flatMap((h) => [...op.get(h.s), ...op.get(h.s), ...ins.f64mul, ...ins.demote, ...ins.promote, ...op.set(h.x)]),
  ...fma((h) => h.x, (h) => h.u, (h) => h.s, (h) => h.x, true, true),
  ...op.get(HALVES[0].sum), ...ins.demote, ...op.get(HALVES[1].sum), ...ins.demote, ...op.shuffle(LOW_HALVES), ...op.set(W0),
];

/**
 * expf of the float32 lanes of D, clamped below at -104 (the caller zeroes those lanes), left
 * on the stack; halfway sums raise ACC.
 */
const expD = [
  // q = roundHalfEven(f(d / ln2))
  ...op.get(D), ...op.get(K.invLn2), ...op.fmul, ...ins.f32nearest, ...op.tee(Q), ...ins.truncSat, ...op.set(QI),
  ...halves,
  // u = f(1 + w), scaled by 2^(q >> 1) and 2^(q - (q >> 1)), normal float32 factors built from their exponents
  ...op.get(K.one), ...op.get(W0), ...op.fadd,
  ...op.get(QI), ...op.i32(1), ...op.ishrS, ...op.tee(W1), ...op.get(K.bias), ...ins.iadd, ...op.i32(23), ...ins.ishl, ...op.fmul,
  ...op.get(QI), ...op.get(W1), ...ins.isub, ...op.get(K.bias), ...ins.iadd, ...op.i32(23), ...ins.ishl, ...op.fmul,
];

/** Sets D to the pmax of the stack's top and -104, ACC to the NaN lanes; then the exp, 0 below -104. */
const clampedExp = [
  ...op.tee(D), ...op.get(D), ...ins.f32ne, ...op.set(ACC),
  ...op.get(D), ...op.get(K.floor), ...ins.f32lt, ...op.set(X0), // X0: lanes below -104
  ...op.get(D), ...op.get(K.floor), ...ins.f32pmax, ...op.set(D),
  ...expD, ...op.get(X0), ...op.andnot,
];

/** Lists the vector at A in FLAGS when ACC has any lane raised (the store is unconditional, the step not). */
const flag = [
  ...op.get(FLAGS), ...op.get(A), ...op.storeI32(0),
  ...op.get(FLAGS), ...op.get(ACC), ...ins.anyTrue, ...op.i32(2), ...op.shl, ...op.add, ...op.set(FLAGS),
];

const loop = (step: number[]) => [
  ...setConstants,
  ...op.loop,
  ...step,
  ...flag,
  ...op.get(A), ...op.i32(16), ...op.add, ...op.set(A),
  ...op.get(B), ...op.i32(16), ...op.add, ...op.set(B),
  ...op.get(N), ...op.i32(1), ...op.sub, ...op.set(N),
  ...op.get(N), ...op.brIf(0), ...op.end,
  ...op.i32(0), ...op.get(FLAGS), ...op.storeI32(0),
];

/** softmax over the two channels at a and b, in place; `rows`: times the reciprocal of the sum instead of divided by it. */
function softmaxFunction(rows: boolean): WasmFunction {
  const e = (dk: number, dst: number) => [...op.get(K.one), ...op.get(U), ...op.get(dk), ...op.get(K.zero), ...ins.f32eq, ...ins.bitselect, ...op.set(dst)];
  const out = (at: number, ek: number) => rows
    ? [...op.get(at), ...op.get(ek), ...op.get(P), ...op.fmul, ...op.store(0)]
    : [...op.get(at), ...op.get(ek), ...op.get(P), ...op.fdiv, ...op.store(0)];
  const step = [
    ...op.get(A), ...op.load(0), ...op.set(X0),
    ...op.get(B), ...op.load(0), ...op.set(X1),
    // d_k = f(x_k - max): one of them is 0, the exp of the other is the one to compute
    ...op.get(X0), ...op.get(X0), ...op.get(X1), ...op.fmax, ...op.tee(D), ...op.fsub, ...op.set(DA),
    ...op.get(X1), ...op.get(D), ...op.fsub, ...op.set(DB),
    ...op.get(DA), ...op.get(DB), ...op.fmin,
    ...clampedExp, ...op.set(U),
    // e_k = 1 where d_k is 0, else the exp; s = f(e_0 + e_1)
    ...e(DA, X0), ...e(DB, X1),
    ...op.get(X0), ...op.get(X1), ...op.fadd,
    ...(rows ? [...op.set(S), ...op.get(K.one), ...op.get(S), ...op.fdiv] : []), ...op.set(P),
    ...out(A, X0), ...out(B, X1),
  ];
  return { name: rows ? 'rows2' : 'map2', params: PARAMS, locals: [[V128_LOCALS, V128]], body: loop(step) };
}

/** exp(b) into a, for the test: the exp as the softmax computes it (differences d <= 0, or NaN). */
function expFunction(): WasmFunction {
  const step = [...op.get(A), ...op.get(B), ...op.load(0), ...clampedExp, ...op.store(0)];
  return { name: 'exp', params: PARAMS, locals: [[V128_LOCALS, V128]], body: loop(step) };
}

type Kernel = (a: number, b: number, vectors: number, flags: number) => void;
type Kernels = { map2: Kernel; rows2: Kernel; exp: Kernel };

let compiled: WebAssembly.Module | null | undefined;
// Module state is per thread: each worker has its own instance and memory.
let kernels: Kernels | null = null;
let memory: WebAssembly.Memory | null = null;
let floats = new Float32Array(0);
let ints = new Int32Array(0);

export function simdSoftmaxSupported(): boolean {
  if (compiled === undefined) compiled = compileModule([softmaxFunction(false), softmaxFunction(true), expFunction()]);
  return compiled !== null;
}

/** Positions per kernel call: both channels' floats and the flag list stay in L1. */
const CHUNK = 2048;
const FLAGS_AT = 16;
const A_AT = FLAGS_AT + CHUNK;
const B_AT = A_AT + 4 * CHUNK;
const BYTES = B_AT + 4 * CHUNK;

function setup(): Kernels {
  if (!simdSoftmaxSupported()) throw new Error('WebAssembly SIMD is not available');
  if (!kernels) {
    memory = kernelMemory();
    ensureBytes(memory, BYTES);
    kernels = new WebAssembly.Instance(compiled!, { env: { memory } }).exports as unknown as Kernels;
  }
  if (floats.buffer !== memory!.buffer) {
    floats = new Float32Array(memory!.buffer);
    ints = new Int32Array(memory!.buffer);
  }
  return kernels;
}

/** Runs `kernel` on `len` positions already at A_AT and B_AT; returns the flagged vectors' first positions. */
function run(kernel: Kernel, len: number): Int32Array {
  const vectors = Math.ceil(len / 4);
  // Slack lanes of the last vector: zeros, which raise no flag.
  for (let i = len; i < 4 * vectors; i++) floats[A_AT / 4 + i] = floats[B_AT / 4 + i] = 0;
  kernel(A_AT, B_AT, vectors, FLAGS_AT);
  const end = ints[0];
  return ints.subarray(FLAGS_AT / 4, end / 4).map((at) => (at - A_AT) / 4);
}

/**
 * softmaxChannelsScalar for c = 2 over positions [from, to) of the n * plane (item, pixel)
 * pairs, same bits; `scalar` recomputes the positions [from, to) it is given (the flagged ones).
 */
export function simdSoftmax2(
  x: Float32Array, n: number, plane: number, out: Float32Array, rows: boolean, from: number, to: number,
  scalar: (from: number, to: number) => void,
): void {
  const k = setup();
  const kernel = rows ? k.rows2 : k.map2;
  for (let at = from; at < to;) {
    const b = Math.floor(at / plane);
    const j = at - b * plane;
    const len = Math.min(CHUNK, plane - j, to - at);
    const base = 2 * b * plane + j;
    floats.set(x.subarray(base, base + len), A_AT / 4);
    floats.set(x.subarray(base + plane, base + plane + len), B_AT / 4);
    const flagged = run(kernel, len);
    out.set(floats.subarray(A_AT / 4, A_AT / 4 + len), base);
    out.set(floats.subarray(B_AT / 4, B_AT / 4 + len), base + plane);
    for (const v of flagged) scalar(at + v, at + Math.min(v + 4, len));
    at += len;
  }
}

/**
 * For the test: the SIMD exp of each difference d (d <= 0 or NaN, as the softmax's are) into
 * out, and the indices whose vector the kernel flagged (where the softmax would use the scalar code).
 */
export function simdExpDifferences(d: Float32Array, out: Float32Array): number[] {
  const k = setup();
  const flagged: number[] = [];
  for (let at = 0; at < d.length; at += CHUNK) {
    const len = Math.min(CHUNK, d.length - at);
    floats.set(d.subarray(at, at + len), B_AT / 4);
    for (const v of run(k.exp, len)) for (let i = v; i < Math.min(v + 4, len); i++) flagged.push(at + i);
    out.set(floats.subarray(A_AT / 4, A_AT / 4 + len), at);
  }
  return flagged;
}
