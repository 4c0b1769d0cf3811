// The input and output transforms of Winograd F(4x4, 3x3) as WebAssembly SIMD functions, for
// simdWinograd.ts's task loop (which also runs F(2x2, 3x3) with its own transforms). One
// vector holds one value of 4 neighbouring tiles; a tile's 6x6 input window starts 4 columns
// after its left neighbour's.
//
// The interpolation points are 0, 1, -1, 1/2, -2 and infinity rather than the usual 0, +-1, +-2:
// with the usual ones the worst error per output, relative to the sum of |products|, went past
// test/winograd.test.ts's bound of 2e-6; with these it is 8.8e-7 there, while the transforms
// still factor into about as few operations. The matrices (G in winograd.ts):
//   B^T = [1 -3/2 -2 3/2 1 0; 0 -1 1/2 5/2 1 0; 0 1 -5/2 1/2 1 0; 0 -2 -1 2 1 0; 0 1/2 -1 -1/2 1 0; 0 1 -3/2 -2 3/2 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 1/2 -2 0; 0 1 1 1/4 4 0; 0 1 -1 1/8 -8 1]
import { activation, OUT, OUT_I32_LOCALS, outputLoops, V128_FIRST } from './simdWinogradOutput.ts';
import { I32, op, V128, type WasmFunction } from './wasm.ts';

/** Shuffle bytes picking float lanes (0-3 of the first vector, 4-7 of the second). */
export function lanes(...picks: number[]): number[] {
  return picks.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
}

/** Two vectors' first pairs interleaved, and their last pairs. */
export const ZIP_LO = lanes(0, 4, 1, 5);
export const ZIP_HI = lanes(2, 6, 3, 7);
const LOW_PAIRS = lanes(0, 1, 4, 5);
const HIGH_PAIRS = lanes(2, 3, 6, 7);

/** v128.const of a float in all four lanes. */
function constF32x4(v: number): number[] {
  return op.constI32x4(new Uint32Array(new Float32Array([v]).buffer)[0]);
}

/** The 4x4 transpose of vectors a, b, c, d (locals) into locals out[0..3], through 4 temporaries. */
function transpose(a: number, b: number, c: number, d: number, tmp: number[], out: number[]): number[] {
  const [ab, cd, abHi, cdHi] = tmp;
  return [
    ...op.get(a), ...op.get(b), ...op.shuffle(ZIP_LO), ...op.set(ab),
    ...op.get(c), ...op.get(d), ...op.shuffle(ZIP_LO), ...op.set(cd),
    ...op.get(a), ...op.get(b), ...op.shuffle(ZIP_HI), ...op.set(abHi),
    ...op.get(c), ...op.get(d), ...op.shuffle(ZIP_HI), ...op.set(cdHi),
    ...op.get(ab), ...op.get(cd), ...op.shuffle(LOW_PAIRS), ...op.set(out[0]),
    ...op.get(ab), ...op.get(cd), ...op.shuffle(HIGH_PAIRS), ...op.set(out[1]),
    ...op.get(abHi), ...op.get(cdHi), ...op.shuffle(LOW_PAIRS), ...op.set(out[2]),
    ...op.get(abHi), ...op.get(cdHi), ...op.shuffle(HIGH_PAIRS), ...op.set(out[3]),
  ];
}

/** The constants the transforms multiply by, each in a local of its own. */
interface Constants {
  half: number;
  threeHalves: number;
  two: number;
  quarter: number;
  four: number;
  eighth: number;
  eight: number;
}

const CONSTANT_VALUES: Record<keyof Constants, number> = { half: 0.5, threeHalves: 1.5, two: 2, quarter: 0.25, four: 4, eighth: 0.125, eight: 8 };

/** Locals from `first` on, one per constant, and the code that fills them. */
function constantLocals(first: number): { k: Constants; init: number[] } {
  const names = Object.keys(CONSTANT_VALUES) as (keyof Constants)[];
  const k = Object.fromEntries(names.map((name, i) => [name, first + i])) as unknown as Constants;
  return { k, init: names.flatMap((name) => [...constF32x4(CONSTANT_VALUES[name]), ...op.set(k[name])]) };
}

const CONSTANTS = Object.keys(CONSTANT_VALUES).length;

/**
 * B^T applied to the 6 vectors in locals d[0..5], each result handed to `sink(j, code)` (code
 * leaves the value on the stack); p and q are scratch locals. With p = d4 - d2, q = d3 - d1:
 *   r0 = (d0 - d2) + p + 3/2 q,   r1 = p + q + 3/2 (d2 + d3),   r2 = p - q + 3/2 (d3 - d2),
 *   r3 = p + 2 q,   r4 = p - 1/2 q,   r5 = (d5 - d3) - q + 3/2 p.
 */
function inputTransform(d: number[], p: number, q: number, k: Constants, sink: (j: number, code: number[]) => number[]): number[] {
  const g = (l: number) => op.get(l);
  const times = (c: number) => [...g(c), ...op.fmul];
  return [
    ...g(d[4]), ...g(d[2]), ...op.fsub, ...op.set(p),
    ...g(d[3]), ...g(d[1]), ...op.fsub, ...op.set(q),
    ...sink(0, [...g(d[0]), ...g(d[2]), ...op.fsub, ...g(p), ...op.fadd, ...g(q), ...times(k.threeHalves), ...op.fadd]),
    ...sink(1, [...g(p), ...g(q), ...op.fadd, ...g(d[2]), ...g(d[3]), ...op.fadd, ...times(k.threeHalves), ...op.fadd]),
    ...sink(2, [...g(p), ...g(q), ...op.fsub, ...g(d[3]), ...g(d[2]), ...op.fsub, ...times(k.threeHalves), ...op.fadd]),
    ...sink(3, [...g(p), ...g(q), ...times(k.two), ...op.fadd]),
    ...sink(4, [...g(p), ...g(q), ...times(k.half), ...op.fsub]),
    ...sink(5, [...g(d[5]), ...g(d[3]), ...op.fsub, ...g(q), ...op.fsub, ...g(p), ...times(k.threeHalves), ...op.fadd]),
  ];
}

/**
 * input(dst, src, rowBytes, channels, panels, setBytes, panelBytes): V = B^T d B for `panels`
 * panels of 4 tiles. Tile l of panel p reads columns 16p + 4l ... + 5 of a channel's 6 strip
 * rows (rowBytes apart, channels 6 rows apart): the vectors at 16p, + 4, + 8, + 12 transposed
 * give columns 0-3 of the 4 tiles, those at 16p + 4 ... + 16 columns 4 and 5. Product s of
 * channel c, panel p goes to dst + s * setBytes + p * panelBytes + 16 c: the GEMM's panel.
 */
export function input4Function(): WasmFunction {
  const [DST, SRC, ROW, CH, PANELS, SET, PANEL] = [0, 1, 2, 3, 4, 5, 6];
  const [P, C, SP, DP, Q, SPP, DPP] = [7, 8, 9, 10, 11, 12, 13];
  const LQ = (k: number) => 14 + k; // 5 loads
  const TMP = [19, 20, 21, 22];
  const D = [23, 24, 25, 26, 27, 28];
  const TT = (r: number, k: number) => 29 + r * 6 + k; // 36
  const [X, Y] = [65, 66];
  const { k, init } = constantLocals(67);
  const body: number[] = [...init];
  body.push(...op.get(SRC), ...op.set(SPP), ...op.get(DST), ...op.set(DPP), ...op.i32(0), ...op.set(P));
  body.push(...op.loop); // panels
  body.push(...op.get(SPP), ...op.set(SP), ...op.get(DPP), ...op.set(DP), ...op.i32(0), ...op.set(C));
  body.push(...op.loop); // channels
  for (let r = 0; r < 6; r++) {
    body.push(...op.get(SP), ...(r ? [...op.get(ROW), ...op.i32(r), ...op.mul, ...op.add] : []), ...op.set(Q));
    for (let k = 0; k < 5; k++) body.push(...op.get(Q), ...op.load(16 * k), ...op.set(LQ(k)));
    body.push(...transpose(LQ(0), LQ(1), LQ(2), LQ(3), TMP, D.slice(0, 4)));
    // Columns 4 and 5: lanes 0 and 1 of the vectors at + 4 ... + 16.
    body.push(...op.get(LQ(1)), ...op.get(LQ(2)), ...op.shuffle(ZIP_LO), ...op.set(TMP[0]));
    body.push(...op.get(LQ(3)), ...op.get(LQ(4)), ...op.shuffle(ZIP_LO), ...op.set(TMP[1]));
    body.push(...op.get(TMP[0]), ...op.get(TMP[1]), ...op.shuffle(LOW_PAIRS), ...op.set(D[4]));
    body.push(...op.get(TMP[0]), ...op.get(TMP[1]), ...op.shuffle(HIGH_PAIRS), ...op.set(D[5]));
    // d B along the row.
    body.push(...inputTransform(D, X, Y, k, (j, code) => [...code, ...op.set(TT(r, j))]));
  }
  // B^T (d B) down each column k, stored at s = 6 i + k, setBytes apart.
  for (let c = 0; c < 6; c++) {
    const column = [0, 1, 2, 3, 4, 5].map((r) => TT(r, c));
    body.push(...inputTransform(column, X, Y, k, (i, code) => [
      ...op.get(DP), ...op.get(SET), ...op.i32(6 * i + c), ...op.mul, ...op.add, ...code, ...op.store(0),
    ]));
  }
  body.push(...op.get(SP), ...op.get(ROW), ...op.i32(6), ...op.mul, ...op.add, ...op.set(SP));
  body.push(...op.get(DP), ...op.i32(16), ...op.add, ...op.set(DP));
  body.push(...op.get(C), ...op.i32(1), ...op.add, ...op.tee(C), ...op.get(CH), ...op.ne, ...op.brIf(0), ...op.end);
  body.push(...op.get(SPP), ...op.i32(64), ...op.add, ...op.set(SPP));
  body.push(...op.get(DPP), ...op.get(PANEL), ...op.add, ...op.set(DPP));
  body.push(...op.get(P), ...op.i32(1), ...op.add, ...op.tee(P), ...op.get(PANELS), ...op.ne, ...op.brIf(0), ...op.end);
  return { name: 'input', params: 7, locals: [[DPP - P + 1, I32], [67 + CONSTANTS - LQ(0), V128]], body };
}

/**
 * A^T applied to the 6 vectors in locals v[0..5], each of the 4 results handed to sink(i, code);
 * a and b scratch locals. With a = v1 + v2, b = v1 - v2:
 *   y0 = v0 + a + (v3 + v4),   y1 = b + (1/2 v3 - 2 v4),   y2 = a + (1/4 v3 + 4 v4),   y3 = b + (1/8 v3 - 8 v4) + v5.
 */
function outputTransform(v: number[], s: number[], k: Constants, sink: (i: number, code: number[]) => number[]): number[] {
  const g = (l: number) => op.get(l);
  const times = (c: number) => [...g(c), ...op.fmul];
  const [a, b] = s;
  return [
    ...g(v[1]), ...g(v[2]), ...op.fadd, ...op.set(a),
    ...g(v[1]), ...g(v[2]), ...op.fsub, ...op.set(b),
    ...sink(0, [...g(v[0]), ...g(a), ...op.fadd, ...g(v[3]), ...g(v[4]), ...op.fadd, ...op.fadd]),
    ...sink(1, [...g(b), ...g(v[3]), ...times(k.half), ...g(v[4]), ...times(k.two), ...op.fsub, ...op.fadd]),
    ...sink(2, [...g(a), ...g(v[3]), ...times(k.quarter), ...g(v[4]), ...times(k.four), ...op.fadd, ...op.fadd]),
    ...sink(3, [...g(b), ...g(v[3]), ...times(k.eighth), ...g(v[4]), ...times(k.eight), ...op.fsub, ...op.fadd, ...g(v[5]), ...op.fadd]),
  ];
}

/**
 * output(m, stage, bias, alpha, act, rows, panels, setBytes, ldc, half): y = A^T M A for
 * `rows` output channels x `panels` panels of 4 tiles, product s of row r, panel p at
 * m + s * setBytes + r * ldc + 16 p; then the bias and with `act` max(y, 0) + alpha * min(y, 0)
 * as the GEMM's epilogue does. Row r's outputs go to stage + 4 r * half: output row i of the
 * tiles at + i * half, the 4 columns of a tile side by side (tile order).
 */
export function output4Function(): WasmFunction {
  const { HALF, P, Q, SQ } = OUT;
  const MV = (s: number) => V128_FIRST + s; // 36
  const T = (i: number, k: number) => V128_FIRST + 36 + i * 6 + k; // 24
  const Y = (i: number, j: number) => V128_FIRST + 60 + i * 4 + j; // 16
  const S = [V128_FIRST + 76, V128_FIRST + 77];
  const TMP = [V128_FIRST + 78, V128_FIRST + 79, V128_FIRST + 80, V128_FIRST + 81];
  const TILE = [V128_FIRST + 82, V128_FIRST + 83, V128_FIRST + 84, V128_FIRST + 85];
  const [BV, AV] = [V128_FIRST + 86, V128_FIRST + 87];
  const { k, init } = constantLocals(V128_FIRST + 88);
  const panel: number[] = [];
  // A^T M down each column, then (A^T M) A along each row, plus the bias.
  for (let c = 0; c < 6; c++) {
    const column = [0, 1, 2, 3, 4, 5].map((r) => MV(6 * r + c));
    panel.push(...outputTransform(column, S, k, (i, code) => [...code, ...op.set(T(i, c))]));
  }
  for (let i = 0; i < 4; i++) {
    const row = [0, 1, 2, 3, 4, 5].map((c) => T(i, c));
    panel.push(...outputTransform(row, S, k, (j, code) => [...code, ...op.get(BV), ...op.fadd, ...op.set(Y(i, j))]));
  }
  panel.push(...activation([0, 1, 2, 3].flatMap((i) => [0, 1, 2, 3].map((j) => Y(i, j))), AV));
  for (let i = 0; i < 4; i++) {
    // Q: this output row of the panel's 4 tiles, 16 floats; tile l's 4 columns are lane l of y_i0..y_i3.
    panel.push(...op.get(SQ), ...(i ? [...op.get(HALF), ...op.i32(i), ...op.mul, ...op.add] : []), ...op.get(P), ...op.i32(6), ...op.shl, ...op.add, ...op.set(Q));
    panel.push(...transpose(Y(i, 0), Y(i, 1), Y(i, 2), Y(i, 3), TMP, TILE));
    for (let l = 0; l < 4; l++) panel.push(...op.get(Q), ...op.get(TILE[l]), ...op.store(16 * l));
  }
  const body = [...init, ...outputLoops(36, MV, BV, AV, 4, panel)];
  return { name: 'output', params: 10, locals: [[OUT_I32_LOCALS, I32], [V128_FIRST + 88 + CONSTANTS - V128_FIRST, V128]], body };
}
