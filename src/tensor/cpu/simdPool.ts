// Max pooling on WebAssembly SIMD. Separable: per output row, the window's rows are reduced
// four columns per instruction into one row, then each output takes the max of its window's
// columns of that row. Windows that overhang the input (padding, Caffe's ceil mode) read their
// edge cell again instead: a repeated cell never changes a max, so no cell needs a bounds check.
import type { Window2d } from '../geometry.ts';
import { compileModule, ensureBytes, F32, I32, instantiate, op, V128, type WasmFunction } from './wasm.ts';

// maxPool(src, dst, planes, planeBytes, inW, outH, outW, kH, kW, rows, cols, line):
// rows[oy * kH + ky]: byte offset of the input row in a plane; cols[ox * kW + kx]: byte offset
// of the column; line: inW (rounded up to 4) floats of scratch.
const [SRC, DST, PLANES, PLANE_BYTES, IN_W, OUT_H, OUT_W, KH, KW, ROWS, COLS, LINE] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
// i32 locals 12-19, then M (f32) and ACC (v128)
const [OY, X, RP, REND, ROW_END, OX, CP, CEND] = [12, 13, 14, 15, 16, 17, 18, 19];
const [M, ACC] = [20, 21];

function maxPoolFunction(): WasmFunction {
  const body = [
    ...op.loop, // planes
    ...op.i32(0), ...op.set(OY),
    // RP walks the row table across the whole plane (outH * kH entries).
    ...op.get(ROWS), ...op.set(RP),
    ...op.loop, // output rows
    ...op.get(RP), ...op.get(KH), ...op.i32(2), ...op.shl, ...op.add, ...op.set(REND),
    // vertical: line[x] = max over the window's rows, four columns at a time
    ...op.i32(0), ...op.set(X),
    ...op.loop,
    ...op.get(SRC), ...op.get(RP), ...op.loadI32(0), ...op.add, ...op.get(X), ...op.add, ...op.load(0), ...op.set(ACC),
    ...op.get(RP), ...op.i32(4), ...op.add, ...op.set(ROW_END),
    ...op.get(ROW_END), ...op.get(REND), ...op.ne,
    ...op.if,
    ...op.loop,
    ...op.get(ACC), ...op.get(SRC), ...op.get(ROW_END), ...op.loadI32(0), ...op.add, ...op.get(X), ...op.add, ...op.load(0), ...op.fmax, ...op.set(ACC),
    ...op.get(ROW_END), ...op.i32(4), ...op.add, ...op.set(ROW_END),
    ...op.get(ROW_END), ...op.get(REND), ...op.ne, ...op.brIf(0), ...op.end,
    ...op.end,
    ...op.get(LINE), ...op.get(X), ...op.add, ...op.get(ACC), ...op.store(0),
    ...op.get(X), ...op.i32(16), ...op.add, ...op.set(X),
    ...op.get(X), ...op.get(IN_W), ...op.i32(2), ...op.shl, ...op.ltU, ...op.brIf(0), ...op.end,
    // horizontal: each output the max of its window's columns of the line
    ...op.get(COLS), ...op.set(CP),
    ...op.i32(0), ...op.set(OX),
    ...op.loop,
    ...op.get(CP), ...op.get(KW), ...op.i32(2), ...op.shl, ...op.add, ...op.set(CEND),
    ...op.get(LINE), ...op.get(CP), ...op.loadI32(0), ...op.add, ...op.loadF32(0), ...op.set(M),
    ...op.get(CP), ...op.i32(4), ...op.add, ...op.set(CP),
    ...op.get(CP), ...op.get(CEND), ...op.ne,
    ...op.if,
    ...op.loop,
    ...op.get(M), ...op.get(LINE), ...op.get(CP), ...op.loadI32(0), ...op.add, ...op.loadF32(0), ...op.maxF32, ...op.set(M),
    ...op.get(CP), ...op.i32(4), ...op.add, ...op.set(CP),
    ...op.get(CP), ...op.get(CEND), ...op.ne, ...op.brIf(0), ...op.end,
    ...op.end,
    ...op.get(DST), ...op.get(M), ...op.storeF32(0),
    ...op.get(DST), ...op.i32(4), ...op.add, ...op.set(DST),
    ...op.get(OX), ...op.i32(1), ...op.add, ...op.set(OX),
    ...op.get(OX), ...op.get(OUT_W), ...op.ltU, ...op.brIf(0), ...op.end,
    ...op.get(REND), ...op.set(RP),
    ...op.get(OY), ...op.i32(1), ...op.add, ...op.set(OY),
    ...op.get(OY), ...op.get(OUT_H), ...op.ltU, ...op.brIf(0), ...op.end,
    ...op.get(SRC), ...op.get(PLANE_BYTES), ...op.add, ...op.set(SRC),
    ...op.get(PLANES), ...op.i32(1), ...op.sub, ...op.set(PLANES),
    ...op.get(PLANES), ...op.brIf(0), ...op.end,
  ];
  return { name: 'maxPool', params: 12, locals: [[CEND - OY + 1, I32], [1, F32], [1, V128]], body };
}

let compiled: WebAssembly.Module | null | undefined;
let instance: { memory: WebAssembly.Memory; exports: { maxPool: (...a: number[]) => void } } | null = null;

export function simdMaxPoolSupported(): boolean {
  if (compiled === undefined) compiled = compileModule([maxPoolFunction()]);
  return compiled !== null;
}

const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);

/** Max pooling of planes [from, to) of x (default all planes of g) into out; same values as pool2d's max, NaN included. */
export function simdMaxPool2d(g: Window2d, x: Float32Array, out: Float32Array, from = 0, to = g.n * g.c): void {
  if (!simdMaxPoolSupported()) throw new Error('WebAssembly SIMD is not available');
  const { inH, inW, kH, kW, strideH, strideW, padTop, padLeft, outH, outW } = g;
  const planes = to - from;
  if (planes <= 0 || outH === 0 || outW === 0) return;
  const line = Math.ceil(inW / 4) * 4;
  const inPlane = inH * inW;
  const outPlane = outH * outW;
  // Layout: [input | 16 bytes of slack for the vertical pass's last vector | output | line | rows | cols].
  const outAt = 4 * (planes * inPlane + 4);
  const lineAt = outAt + 4 * planes * outPlane;
  const rowsAt = lineAt + 4 * line;
  const colsAt = rowsAt + 4 * outH * kH;
  instance ??= instantiate(compiled!);
  ensureBytes(instance.memory, colsAt + 4 * outW * kW);
  const buffer = instance.memory.buffer;
  new Float32Array(buffer, 0, planes * inPlane).set(x.subarray(from * inPlane, to * inPlane));
  const rows = new Int32Array(buffer, rowsAt, outH * kH);
  for (let oy = 0; oy < outH; oy++) for (let ky = 0; ky < kH; ky++) rows[oy * kH + ky] = 4 * inW * clamp(oy * strideH - padTop + ky, inH - 1);
  const cols = new Int32Array(buffer, colsAt, outW * kW);
  for (let ox = 0; ox < outW; ox++) for (let kx = 0; kx < kW; kx++) cols[ox * kW + kx] = 4 * clamp(ox * strideW - padLeft + kx, inW - 1);
  instance.exports.maxPool(0, outAt, planes, 4 * inPlane, inW, outH, outW, kH, kW, rowsAt, colsAt, lineAt);
  out.set(new Float32Array(buffer, outAt, planes * outPlane), from * outPlane);
}
