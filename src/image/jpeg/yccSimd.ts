// YCbCr -> RGB with WebAssembly SIMD, 16 pixels a step: the same integer arithmetic as libjpeg's
// tables (yccTables.ts) done in i32 lanes, and the range limit done by the saturating narrow to
// unsigned bytes, which clamps to 0..255 exactly as the table does. Rows are copied through the
// module's own memory; yccRow converts what is left over (under 16 pixels) in TypeScript.
import { compileModule, ensureBytes, instantiate, op, uleb } from '../../tensor/cpu/wasm.ts';
import { jpegSimdAllowed } from './simdSwitch.ts';

const simd = (code: number) => [0xfd, ...uleb(code)];
const load8x8u = (offset: number) => [...simd(0x02), 3, ...uleb(offset)];
const i16x8add = simd(0x8e);
const i16x8sub = simd(0x91);
const narrowI32toI16 = simd(0x85);
const narrowI16toU8 = simd(0x66);
const extendLow = simd(0xa7);
const extendHigh = simd(0xa8);
const i32x4add = simd(0xae);
const i32x4mul = simd(0xb5);

// Parameters: y, cb, cr, out (byte offsets), end (y + pixels, a multiple of 16 pixels on).
const Y = 0, CB = 1, CR = 2, OUT = 3, END = 4;
// v128 locals.
const YV = 5, BV = 6, RV = 7, R_LO = 8, G_LO = 9, B_LO = 10, R_HI = 11, G_HI = 12, B_HI = 13, RV8 = 14, GV8 = 15, BV8 = 16;

const HALF = 32768;
/** (x * k + 1/2) >> 16 on the i32x4 on the stack. */
const scaleRound = (k: number) => [...op.constI32x4(k), ...i32x4mul, ...op.constI32x4(HALF), ...i32x4add, ...op.i32(16), ...op.ishrS];

/** Luma plus one chroma term for 8 pixels, as i16x8; `term(extend)` leaves an i32x4 term. */
function channel(term: (extend: number[]) => number[]): number[] {
  return [...op.get(YV), ...term(extendLow), ...term(extendHigh), ...narrowI32toI16, ...i16x8add];
}

/** Loads 8 pixels at `offset` and leaves their R, G, B (i16x8, not yet limited) in the given locals. */
function eightPixels(offset: number, r: number, g: number, b: number): number[] {
  const centred = (param: number) => [...op.get(param), ...load8x8u(offset), ...op.constI32x4(0x00800080), ...i16x8sub];
  return [
    ...op.get(Y), ...load8x8u(offset), ...op.set(YV),
    ...centred(CB), ...op.set(BV),
    ...centred(CR), ...op.set(RV),
    ...channel((ext) => [...op.get(RV), ...ext, ...scaleRound(91881)]), ...op.set(r),
    // G: (-0.34414 cb + 1/2 - 0.71414 cr) >> 16, one rounding for both terms as libjpeg's tables.
    ...channel((ext) => [
      ...op.get(BV), ...ext, ...op.constI32x4(-22554), ...i32x4mul,
      ...op.get(RV), ...ext, ...op.constI32x4(-46802), ...i32x4mul, ...i32x4add,
      ...op.constI32x4(HALF), ...i32x4add, ...op.i32(16), ...op.ishrS,
    ]), ...op.set(g),
    ...channel((ext) => [...op.get(BV), ...ext, ...scaleRound(116130)]), ...op.set(b),
  ];
}

/** Byte indices that interleave 16 R, G, B bytes into three 16-byte chunks, in two shuffles each. */
function interleave(chunk: number): number[] {
  const first: number[] = [], second: number[] = [];
  for (let j = 0; j < 16; j++) {
    const at = chunk * 16 + j;
    const pixel = Math.floor(at / 3), channelOf = at % 3;
    first.push(channelOf === 0 ? pixel : channelOf === 1 ? 16 + pixel : 0);
    second.push(channelOf === 2 ? 16 + pixel : j);
  }
  return [
    ...op.get(OUT), ...op.get(RV8), ...op.get(GV8), ...op.shuffle(first), ...op.get(BV8), ...op.shuffle(second),
    ...op.store(chunk * 16),
  ];
}

const body = [
  ...op.loop,
  ...eightPixels(0, R_LO, G_LO, B_LO),
  ...eightPixels(8, R_HI, G_HI, B_HI),
  ...op.get(R_LO), ...op.get(R_HI), ...narrowI16toU8, ...op.set(RV8),
  ...op.get(G_LO), ...op.get(G_HI), ...narrowI16toU8, ...op.set(GV8),
  ...op.get(B_LO), ...op.get(B_HI), ...narrowI16toU8, ...op.set(BV8),
  ...interleave(0), ...interleave(1), ...interleave(2),
  ...op.get(Y), ...op.i32(16), ...op.add, ...op.tee(Y),
  ...op.get(CB), ...op.i32(16), ...op.add, ...op.set(CB),
  ...op.get(CR), ...op.i32(16), ...op.add, ...op.set(CR),
  ...op.get(OUT), ...op.i32(48), ...op.add, ...op.set(OUT),
  ...op.get(END), ...op.ltU, ...op.brIf(0),
  ...op.end,
];

interface Kernel { ycc(y: number, cb: number, cr: number, out: number, end: number): void }

let kernel: { memory: WebAssembly.Memory; exports: Kernel } | null | undefined;

function getKernel(): { memory: WebAssembly.Memory; exports: Kernel } | null {
  if (kernel === undefined) {
    const module = compileModule([{ name: 'ycc', params: 5, locals: [[12, 0x7b]], body }]);
    kernel = module ? instantiate<Kernel>(module) : null;
  }
  return kernel;
}

/**
 * Converts the first multiple of 16 pixels of a row (as yccRow's arguments) and returns how many
 * it converted: 0 without WebAssembly SIMD or for rows under 16 pixels.
 */
export function yccRowSimd(yd: Uint8Array, ya: number, cbd: Uint8Array, cba: number, crd: Uint8Array, cra: number, width: number, out: Uint8Array, o: number): number {
  const n = width & ~15;
  if (n === 0 || !jpegSimdAllowed()) return 0;
  const k = getKernel();
  if (!k) return 0;
  // Layout: luma, Cb, Cr rows of n bytes, then the 3n RGB bytes.
  ensureBytes(k.memory, 6 * n);
  const mem = new Uint8Array(k.memory.buffer);
  mem.set(yd.subarray(ya, ya + n), 0);
  mem.set(cbd.subarray(cba, cba + n), n);
  mem.set(crd.subarray(cra, cra + n), 2 * n);
  k.exports.ycc(0, n, 2 * n, 3 * n, n);
  out.set(mem.subarray(3 * n, 6 * n), o);
  return n;
}
