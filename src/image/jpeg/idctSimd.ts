// idct.ts's transform in WebAssembly SIMD for a row of blocks at once: four columns (then four
// rows) per i32x4. Same constants, same grouping, same shifts; with inputs inside 16 bits no
// i32 sum overflows (idct.ts explains why), so each lane computes exactly the scalar value.
// The shortcuts idct.ts takes for all-zero columns and rows give what the full formulas give,
// range checks included, so the kernel has none. A block outside the range sets a flag, and
// the caller refuses the file as idctBlock's false return does.
import { compileModule, ensureBytes, instantiate, op, uleb } from '../../tensor/cpu/wasm.ts';
import { jpegSimdAllowed } from './simdSwitch.ts';

const simd = (code: number) => [0xfd, ...uleb(code)];
const load16x4s = (offset: number) => [...simd(0x03), 3, ...uleb(offset)];
const load = (offset: number) => [...simd(0x00), 4, ...uleb(offset)];
const store64Lane = (offset: number, lane: number) => [...simd(0x5b), 3, ...uleb(offset), lane];
const ADD = simd(0xae), SUB = simd(0xb1), MUL = simd(0xb5), SHL = simd(0xab), SHR_S = simd(0xac), SHR_U = simd(0xad);
const OR = simd(0x50), ANY_TRUE = simd(0x53);
const NARROW_I16 = simd(0x85), NARROW_U8 = simd(0x66);

const F0_298 = 2446, F0_390 = 3196, F0_541 = 4433, F0_765 = 6270, F0_899 = 7373, F1_175 = 9633;
const F1_501 = 12299, F1_847 = 15137, F1_961 = 16069, F2_053 = 16819, F2_562 = 20995, F3_072 = 25172;

// Parameters: coefficients (int16, natural order, 64 a block), quant (int32 x 64), out, stride, end of coefficients, flag address.
const COEF = 0, QUANT = 1, OUT = 2, STRIDE = 3, END = 4, FLAG = 5;
// v128 locals, numbered after the parameters.
let next = 6;
const v = () => next++;
const IN = Array.from({ length: 8 }, v);
const T = Array.from({ length: 16 }, v);
const W = Array.from({ length: 16 }, v); // column-pass results: row y, half h at W[h * 8 + y]
const C = Array.from({ length: 16 }, v); // transposed: column c, row group g at C[g * 8 + c]
const X = Array.from({ length: 16 }, v); // row-pass results: column x, row group g at X[g * 8 + x]
const COL_FLAGS = v(), ROW_FLAGS = v();
const LOCALS = next - 6;

const g = op.get, s = op.set;
const k = (c: number) => op.constI32x4(c);

/**
 * One 8-point IDCT on locals `i[0..7]` into `o[0..7]`: outputs (sum + round) >> shift, as
 * idct.ts's column (shift 11) and row (shift 18, with the +512 offset in `round`) passes.
 */
function butterfly(i: number[], o: number[], round: number, shift: number): number[] {
  const [z1, tmp2, tmp3, tmp0, tmp1, tmp10, tmp11, tmp12, tmp13, oz1, oz2, oz3, oz4, z5, t0, t1] = T;
  const t2 = i[3], t3 = i[1]; // overwritten below: their inputs are not needed after the odd part starts
  const out = (a: number, b: number, minus: boolean, dst: number) => [...g(a), ...g(b), ...(minus ? SUB : ADD), ...k(round), ...ADD, ...op.i32(shift), ...SHR_S, ...s(dst)];
  return [
    ...g(i[2]), ...g(i[6]), ...ADD, ...k(F0_541), ...MUL, ...s(z1),
    ...g(z1), ...g(i[6]), ...k(F1_847), ...MUL, ...SUB, ...s(tmp2),
    ...g(z1), ...g(i[2]), ...k(F0_765), ...MUL, ...ADD, ...s(tmp3),
    ...g(i[0]), ...g(i[4]), ...ADD, ...op.i32(13), ...SHL, ...s(tmp0),
    ...g(i[0]), ...g(i[4]), ...SUB, ...op.i32(13), ...SHL, ...s(tmp1),
    ...g(tmp0), ...g(tmp3), ...ADD, ...s(tmp10),
    ...g(tmp0), ...g(tmp3), ...SUB, ...s(tmp13),
    ...g(tmp1), ...g(tmp2), ...ADD, ...s(tmp11),
    ...g(tmp1), ...g(tmp2), ...SUB, ...s(tmp12),
    // Odd part: inputs 7, 5, 3, 1 as tmp0..tmp3 of libjpeg.
    ...g(i[7]), ...g(t3), ...ADD, ...s(oz1),
    ...g(i[5]), ...g(t2), ...ADD, ...s(oz2),
    ...g(i[7]), ...g(t2), ...ADD, ...s(oz3),
    ...g(i[5]), ...g(t3), ...ADD, ...s(oz4),
    ...g(oz3), ...g(oz4), ...ADD, ...k(F1_175), ...MUL, ...s(z5),
    ...g(oz1), ...k(-F0_899), ...MUL, ...s(oz1),
    ...g(oz2), ...k(-F2_562), ...MUL, ...s(oz2),
    ...g(oz3), ...k(-F1_961), ...MUL, ...g(z5), ...ADD, ...s(oz3),
    ...g(oz4), ...k(-F0_390), ...MUL, ...g(z5), ...ADD, ...s(oz4),
    ...g(i[7]), ...k(F0_298), ...MUL, ...g(oz1), ...g(oz3), ...ADD, ...ADD, ...s(t0),
    ...g(i[5]), ...k(F2_053), ...MUL, ...g(oz2), ...g(oz4), ...ADD, ...ADD, ...s(t1),
    ...g(t2), ...k(F3_072), ...MUL, ...g(oz2), ...g(oz3), ...ADD, ...ADD, ...s(t2),
    ...g(t3), ...k(F1_501), ...MUL, ...g(oz1), ...g(oz4), ...ADD, ...ADD, ...s(t3),
    ...out(tmp10, t3, false, o[0]), ...out(tmp10, t3, true, o[7]),
    ...out(tmp11, t2, false, o[1]), ...out(tmp11, t2, true, o[6]),
    ...out(tmp12, t1, false, o[2]), ...out(tmp12, t1, true, o[5]),
    ...out(tmp13, t0, false, o[3]), ...out(tmp13, t0, true, o[4]),
  ];
}

/** ORs (value + 32768) of the locals into COL_FLAGS: bits above 16 mean outside int16. */
const flag16 = (locals: number[]) => locals.flatMap((l) => [...g(COL_FLAGS), ...g(l), ...k(32768), ...ADD, ...OR, ...s(COL_FLAGS)]);

const lanes = (pick: [number, number][]) => pick.flatMap(([from, lane]) => [0, 1, 2, 3].map((b) => from * 16 + lane * 4 + b));

/** 4x4 transpose of i32 locals a..d (rows) into out[0..3] (columns). */
function transpose4(src: number[], dst: number[]): number[] {
  const [a, b, c, d] = src;
  const [t0, t1, t2, t3] = T;
  return [
    ...g(a), ...g(b), ...op.shuffle(lanes([[0, 0], [1, 0], [0, 1], [1, 1]])), ...s(t0),
    ...g(a), ...g(b), ...op.shuffle(lanes([[0, 2], [1, 2], [0, 3], [1, 3]])), ...s(t1),
    ...g(c), ...g(d), ...op.shuffle(lanes([[0, 0], [1, 0], [0, 1], [1, 1]])), ...s(t2),
    ...g(c), ...g(d), ...op.shuffle(lanes([[0, 2], [1, 2], [0, 3], [1, 3]])), ...s(t3),
    ...g(t0), ...g(t2), ...op.shuffle(lanes([[0, 0], [0, 1], [1, 0], [1, 1]])), ...s(dst[0]),
    ...g(t0), ...g(t2), ...op.shuffle(lanes([[0, 2], [0, 3], [1, 2], [1, 3]])), ...s(dst[1]),
    ...g(t1), ...g(t3), ...op.shuffle(lanes([[0, 0], [0, 1], [1, 0], [1, 1]])), ...s(dst[2]),
    ...g(t1), ...g(t3), ...op.shuffle(lanes([[0, 2], [0, 3], [1, 2], [1, 3]])), ...s(dst[3]),
  ];
}

/**
 * Samples out: X[g * 8 + x] holds column x of rows 4g..4g+3, offset by 512 (so 0..1023 in range);
 * limit(x - 384) is idct.ts's LIMIT table, done by the saturating narrows. Columns pair into
 * bytes [x rows 0..7, x+1 rows 0..7], and two rounds of shuffles turn those into rows.
 */
function storeRows(): number[] {
  const [p01, p23, p45, p67, q0, q1, q2, q3] = T;
  const pairs = [p01, p23, p45, p67];
  const code: number[] = [];
  for (let x = 0; x < 8; x += 2) {
    const col = (c: number) => [...g(X[c]), ...k(384), ...SUB, ...g(X[8 + c]), ...k(384), ...SUB, ...NARROW_I16];
    code.push(...col(x), ...col(x + 1), ...NARROW_U8, ...s(pairs[x >> 1]));
  }
  // Byte (x, y) sits in pairs[x >> 1] at (x & 1) * 8 + y. First: rows 0..3 or 4..7 of four columns.
  const quarter = (lo: number, hi: number, rows: number) => {
    const idx: number[] = [];
    for (let r = 0; r < 4; r++) for (let x = 0; x < 4; x++) idx.push((x >> 1) * 16 + (x & 1) * 8 + rows + r);
    return [...g(lo), ...g(hi), ...op.shuffle(idx)];
  };
  code.push(...quarter(p01, p23, 0), ...s(q0), ...quarter(p45, p67, 0), ...s(q1), ...quarter(p01, p23, 4), ...s(q2), ...quarter(p45, p67, 4), ...s(q3));
  // q0: rows 0..3 of columns 0..3 (4 bytes a row), q1 the same of columns 4..7; join them per row.
  const join = (a: number, b: number, firstRow: number) => {
    const idx: number[] = [];
    for (let r = firstRow; r < firstRow + 2; r++) for (let x = 0; x < 8; x++) idx.push((x >> 2) * 16 + r * 4 + (x & 3));
    return [...g(a), ...g(b), ...op.shuffle(idx)];
  };
  const rowAddress = (y: number) => [...g(OUT), ...g(STRIDE), ...op.i32(y), ...op.mul, ...op.add];
  for (let y = 0; y < 8; y += 2) {
    const [a, b] = y < 4 ? [q0, q1] : [q2, q3];
    const joined = T[8];
    code.push(...join(a, b, y & 3), ...s(joined));
    code.push(...rowAddress(y), ...g(joined), ...store64Lane(0, 0));
    code.push(...rowAddress(y + 1), ...g(joined), ...store64Lane(0, 1));
  }
  return code;
}

const blockCode: number[] = [];
for (let h = 0; h < 2; h++) {
  // Columns 4h..4h+3: dequantise (checked against int16), transform, check the results.
  for (let u = 0; u < 8; u++) blockCode.push(...g(COEF), ...load16x4s(u * 16 + h * 8), ...g(QUANT), ...load(u * 32 + h * 16), ...MUL, ...s(IN[u]));
  blockCode.push(...flag16(IN));
  const outs = W.slice(h * 8, h * 8 + 8);
  blockCode.push(...butterfly(IN, outs, 1024, 11), ...flag16(outs));
}
for (let gr = 0; gr < 2; gr++) {
  for (let h = 0; h < 2; h++) blockCode.push(...transpose4(W.slice(h * 8 + gr * 4, h * 8 + gr * 4 + 4), C.slice(gr * 8 + h * 4, gr * 8 + h * 4 + 4)));
}
for (let gr = 0; gr < 2; gr++) {
  const outs = X.slice(gr * 8, gr * 8 + 8);
  blockCode.push(...butterfly(C.slice(gr * 8, gr * 8 + 8), outs, (1 << 17) + (512 << 18), 18));
  blockCode.push(...outs.flatMap((l) => [...g(ROW_FLAGS), ...g(l), ...OR, ...s(ROW_FLAGS)]));
}
blockCode.push(...storeRows());

const body = [
  ...op.loop,
  ...blockCode,
  ...g(OUT), ...op.i32(8), ...op.add, ...s(OUT),
  ...g(COEF), ...op.i32(128), ...op.add, ...op.tee(COEF),
  ...g(END), ...op.ltU, ...op.brIf(0),
  ...op.end,
  // Flag: column values outside int16, or row results outside 0..1023.
  ...g(FLAG),
  ...g(COL_FLAGS), ...op.i32(16), ...SHR_U, ...g(ROW_FLAGS), ...op.i32(10), ...SHR_U, ...OR, ...ANY_TRUE,
  ...op.storeI32(0),
];

interface Kernel { idct(coef: number, quant: number, out: number, stride: number, end: number, flag: number): void }

let kernel: { memory: WebAssembly.Memory; exports: Kernel } | null | undefined;

function getKernel(): { memory: WebAssembly.Memory; exports: Kernel } | null {
  if (kernel === undefined) {
    const module = compileModule([{ name: 'idct', params: 6, locals: [[LOCALS, 0x7b]], body }]);
    kernel = module ? instantiate<Kernel>(module) : null;
  }
  return kernel;
}

export const idctSimdAvailable = () => jpegSimdAllowed() && getKernel() !== null;

/** Memory layout: flag, quant table, one block row of coefficients, its 8 rows of samples. */
const FLAG_AT = 0, QUANT_AT = 64, COEF_AT = 512;

/**
 * Transforms `blocks` blocks of `coefficients` from `at` (natural order) into 8 rows of `out`
 * from `outAt`, `stride` apart, all `stride` bytes of each row copied (columns past the blocks
 * get whatever the kernel's memory held). Returns false where idctBlock would for any block.
 */
export function idctRowSimd(coefficients: Int16Array, at: number, blocks: number, quant: Int32Array, out: Uint8Array, outAt: number, stride: number): boolean {
  const kern = getKernel()!;
  const outArea = COEF_AT + blocks * 128;
  ensureBytes(kern.memory, outArea + 8 * stride);
  const buffer = kern.memory.buffer;
  new Int32Array(buffer, QUANT_AT, 64).set(quant);
  new Int16Array(buffer, COEF_AT, blocks * 64).set(coefficients.subarray(at, at + blocks * 64));
  kern.exports.idct(COEF_AT, QUANT_AT, outArea, stride, outArea, FLAG_AT);
  out.set(new Uint8Array(buffer, outArea, 8 * stride), outAt);
  return new Int32Array(buffer, FLAG_AT, 1)[0] === 0;
}
