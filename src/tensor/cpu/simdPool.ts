// Max pooling on WebAssembly SIMD, one kernel per window shape (kH, kW, horizontal stride),
// generated with its taps unrolled. Per output row the window's rows are reduced four columns
// per instruction into a line, then the line's windows are reduced with four outputs per store.
//
// The line is the reduced row with edge cells repeated on the left (padding) and the right
// (padding, Caffe's ceil-mode overhang): a repeated cell never changes a max, so no window is
// clipped and every output is the same unrolled sequence of loads. Rows are clamped the same way
// through a table of row offsets. Windows that lie wholly in the padding (padding >= kernel,
// which PyTorch rejects) therefore see their nearest edge cell, as every version of this kernel did.
//
// The input is copied into wasm memory a few planes at a time (a large plane a band of rows at a
// time), so what the kernel reads and writes stays in the core's cache instead of streaming a
// whole batch (R-Net: 14 MB) through memory twice.
import type { Window2d } from '../geometry.ts';
import { compileModule, ensureBytes, I32, op, V128, kernelMemory, type WasmFunction } from './wasm.ts';

// pool(src, dst, planes, planeBytes, outH, rows, line, padLeft, edgeRight, fillEnd, vecBytes, chunks, outRow):
// src: the first plane's input; rows[oy * kH + ky]: byte offset of that input row from a plane's
// start; line: scratch, whose cell j is input column j - padLeft; padLeft, edgeRight (padLeft +
// inW) and fillEnd (one past the last cell a window reads) in bytes from line; vecBytes: the
// vertical pass's extent (inW rounded up to whole iterations, in bytes); chunks: iterations of
// the horizontal pass; outRow: bytes per output row. All i32.
const [SRC, DST, PLANES, PLANE_BYTES, OUT_H, ROWS, LINE, PAD_L, EDGE_R, FILL_END, VEC_BYTES, CHUNKS, OUT_ROW] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
const PARAMS = 13;
const [OY, RP, X, L, D, DEND, C, FILL] = [13, 14, 15, 16, 17, 18, 19, 20];
const [ABS, B] = [21, 22]; // v128
const ROW = (ky: number) => 23 + ky; // i32: the input row ky of the current window, absolute

/** Vectors per iteration of the vertical and horizontal loops: halves their loop overhead. */
const UNROLL = 2;

// Windows of more than four cells compare keys, not floats: wasm's f32x4.max (NaN-propagating,
// +0 above -0) is a sequence of eight instructions on x86, while i32x4.max_s is one. Flipping
// the magnitude bits of negative floats (key = bits ^ 0x7fffffff when the sign bit is set)
// orders the keys, as signed integers, exactly as the floats, -0 just below +0; a NaN of either
// sign becomes its positive self, above +Infinity, so it wins every max as f32x4.max's NaN does.
// Decoding is the same xor; the NaN comes back positive (any NaN reads as NaN).
const SIGN_CLEAR = 0x7fffffff;
const INF_BITS = 0x7f800000;

/** Top of the stack: the key of the float bits in local `t`, which it leaves `a` = |bits|. */
const encodeLocal = (t: number, a: number, abs: number) => [
  ...op.get(t), ...op.get(abs), ...op.and, ...op.tee(a),
  ...op.get(t), ...op.i32(31), ...op.ishrS, ...op.get(a), ...op.constI32x4(INF_BITS), ...op.igtS, ...op.andnot,
  ...op.xor,
];
/** Top of the stack: the float bits of the key in local `k`. */
const decodeLocal = (k: number, abs: number) => [...op.get(k), ...op.get(k), ...op.i32(31), ...op.ishrS, ...op.get(abs), ...op.and, ...op.xor];

/** Vectors per iteration of encode(), whose count is rounded up to it. */
const ENCODE_UNROLL = 4;

/** encode(at, iterations): the floats at `at` replaced by their keys, in place, ENCODE_UNROLL vectors per iteration. */
function encodeFunction(): WasmFunction {
  const [AT, N, T, A, AB] = [0, 1, 2, 3, 4];
  const one: number[] = [];
  for (let u = 0; u < ENCODE_UNROLL; u++) one.push(...op.get(AT), ...op.get(AT), ...op.load(16 * u), ...op.set(T), ...encodeLocal(T, A, AB), ...op.store(16 * u));
  const body = [
    ...op.constI32x4(SIGN_CLEAR), ...op.set(AB),
    ...op.loop,
    ...one,
    ...op.get(AT), ...op.i32(16 * ENCODE_UNROLL), ...op.add, ...op.set(AT),
    ...op.get(N), ...op.i32(1), ...op.sub, ...op.set(N),
    ...op.get(N), ...op.brIf(0), ...op.end,
  ];
  return { name: 'encode', params: 2, locals: [[3, V128]], body };
}

// i8x16.shuffle bytes keeping lanes 0, 2 of each operand: the outputs of a stride-2 window pair.
const EVEN_LANES = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];

/**
 * The kernel for one window shape, over keys. `wideEdges`: the padding or overhang may exceed
 * four cells, so the edges are filled by loops rather than by one four-cell store each.
 */
function poolFunction(kH: number, kW: number, sW: number, wideEdges: boolean, keys: boolean): WasmFunction {
  const max = keys ? op.imaxS : op.fmax;
  const decode = keys ? [...op.set(B), ...decodeLocal(B, ABS)] : [];
  const maxOfTaps = (at: number) => {
    const code = [...op.get(L), ...op.load(at)];
    for (let kx = 1; kx < kW; kx++) code.push(...op.get(L), ...op.load(at + 4 * kx), ...max);
    return code;
  };
  const horizontal: number[] = [];
  for (let u = 0; u < (sW <= 2 ? UNROLL : 1); u++) {
    if (sW === 1) {
      horizontal.push(...op.get(D), ...maxOfTaps(16 * u), ...decode, ...op.store(16 * u));
    } else if (sW === 2) {
      // Eight consecutive window starts reduced, then every other one kept.
      horizontal.push(...op.get(D), ...maxOfTaps(32 * u), ...maxOfTaps(32 * u + 16), ...op.shuffle(EVEN_LANES), ...decode, ...op.store(16 * u));
    } else {
      // One output at a time, in lane 0.
      horizontal.push(...op.get(D), ...op.get(L), ...op.loadSplat(0));
      for (let kx = 1; kx < kW; kx++) horizontal.push(...op.get(L), ...op.loadSplat(4 * kx), ...max);
      horizontal.push(...decode, ...op.extractLaneI32(0), ...op.storeI32(0));
    }
  }
  const step = sW <= 2 ? 4 * UNROLL : 1; // outputs per horizontal iteration
  const vertical: number[] = [];
  for (let u = 0; u < UNROLL; u++) {
    vertical.push(...op.get(LINE), ...op.get(PAD_L), ...op.add, ...op.get(X), ...op.add);
    vertical.push(...op.get(ROW(0)), ...op.get(X), ...op.add, ...op.load(16 * u));
    for (let ky = 1; ky < kH; ky++) vertical.push(...op.get(ROW(ky)), ...op.get(X), ...op.add, ...op.load(16 * u), ...max);
    vertical.push(...op.store(16 * u));
  }
  const rowStarts: number[] = [];
  for (let ky = 0; ky < kH; ky++) rowStarts.push(...op.get(SRC), ...op.get(RP), ...op.loadI32(4 * ky), ...op.add, ...op.set(ROW(ky)));
  const edges = wideEdges ? [
    // left edge repeated over the padding
    ...op.i32(0), ...op.get(PAD_L), ...op.ltU,
    ...op.if,
    ...op.get(LINE), ...op.get(PAD_L), ...op.add, ...op.loadI32(0), ...op.set(FILL),
    ...op.i32(0), ...op.set(X),
    ...op.loop,
    ...op.get(LINE), ...op.get(X), ...op.add, ...op.get(FILL), ...op.storeI32(0),
    ...op.get(X), ...op.i32(4), ...op.add, ...op.set(X),
    ...op.get(X), ...op.get(PAD_L), ...op.ltU, ...op.brIf(0), ...op.end,
    ...op.end,
    // right edge repeated as far as the last window reaches
    ...op.get(EDGE_R), ...op.get(FILL_END), ...op.ltU,
    ...op.if,
    ...op.get(LINE), ...op.get(EDGE_R), ...op.add, ...op.i32(4), ...op.sub, ...op.loadI32(0), ...op.set(FILL),
    ...op.get(EDGE_R), ...op.set(X),
    ...op.loop,
    ...op.get(LINE), ...op.get(X), ...op.add, ...op.get(FILL), ...op.storeI32(0),
    ...op.get(X), ...op.i32(4), ...op.add, ...op.set(X),
    ...op.get(X), ...op.get(FILL_END), ...op.ltU, ...op.brIf(0), ...op.end,
    ...op.end,
  ] : [
    // Four copies of each edge cell, unconditionally: what lies outside the windows' reach is
    // scratch (the line has 16 bytes before its first cell).
    ...op.get(LINE), ...op.get(PAD_L), ...op.add, ...op.i32(16), ...op.sub,
    ...op.get(LINE), ...op.get(PAD_L), ...op.add, ...op.loadSplat(0), ...op.store(0),
    ...op.get(LINE), ...op.get(EDGE_R), ...op.add,
    ...op.get(LINE), ...op.get(EDGE_R), ...op.add, ...op.i32(4), ...op.sub, ...op.loadSplat(0), ...op.store(0),
  ];
  const body = [
    ...op.constI32x4(SIGN_CLEAR), ...op.set(ABS),
    ...op.get(DST), ...op.set(D),
    ...op.loop, // planes
    ...op.get(ROWS), ...op.set(RP),
    ...op.get(OUT_H), ...op.set(OY),
    ...op.loop, // output rows
    ...rowStarts,
    ...op.get(RP), ...op.i32(4 * kH), ...op.add, ...op.set(RP),
    // vertical: line[padLeft + x] = max over the window's rows, four columns per vector
    ...op.i32(0), ...op.set(X),
    ...op.loop,
    ...vertical,
    ...op.get(X), ...op.i32(16 * UNROLL), ...op.add, ...op.set(X),
    ...op.get(X), ...op.get(VEC_BYTES), ...op.ltU, ...op.brIf(0), ...op.end,
    ...edges,
    // horizontal, decoding keys back to floats: the SIMD path stores whole vectors, the slack
    // lanes past the row's end are overwritten by the next row (the arena leaves slack after the last)
    ...op.get(D), ...op.get(OUT_ROW), ...op.add, ...op.set(DEND),
    ...op.get(LINE), ...op.set(L),
    ...op.get(CHUNKS), ...op.set(C),
    ...op.loop,
    ...horizontal,
    ...op.get(D), ...op.i32(4 * step), ...op.add, ...op.set(D),
    ...op.get(L), ...op.i32(4 * step * sW), ...op.add, ...op.set(L),
    ...op.get(C), ...op.i32(1), ...op.sub, ...op.set(C),
    ...op.get(C), ...op.brIf(0), ...op.end,
    ...op.get(DEND), ...op.set(D),
    ...op.get(OY), ...op.i32(1), ...op.sub, ...op.set(OY),
    ...op.get(OY), ...op.brIf(0), ...op.end,
    ...op.get(SRC), ...op.get(PLANE_BYTES), ...op.add, ...op.set(SRC),
    ...op.get(PLANES), ...op.i32(1), ...op.sub, ...op.set(PLANES),
    ...op.get(PLANES), ...op.brIf(0), ...op.end,
  ];
  return { name: 'pool', params: PARAMS, locals: [[FILL - OY + 1, I32], [2, V128], [kH, I32]], body };
}

type Kernel = (...a: number[]) => void;
type Kernels = { pool: Kernel; encode: Kernel };
// Compiled modules by window shape, and their instances by memory (per thread, as all module
// state: each kernel worker has its own): this file's own, or a conv kernel's that pools its
// output where it lies (simdFirstConv.ts).
const modules = new Map<string, WebAssembly.Module | null>();
const instances = new WeakMap<WebAssembly.Memory, Map<string, Kernels>>();
let memory: WebAssembly.Memory | null = null;
let floats = new Float32Array(0);

function compiled(kH: number, kW: number, sW: number, wideEdges: boolean, keys: boolean): WebAssembly.Module | null {
  const key = `${kH}x${kW}/${sW}${wideEdges ? 'w' : ''}${keys ? 'k' : ''}`;
  if (!modules.has(key)) modules.set(key, compileModule([poolFunction(kH, kW, sW, wideEdges, keys), encodeFunction()]));
  return modules.get(key)!;
}

function kernel(kH: number, kW: number, sW: number, wideEdges: boolean, keys: boolean, over: WebAssembly.Memory): Kernels {
  const key = `${kH}x${kW}/${sW}${wideEdges ? 'w' : ''}${keys ? 'k' : ''}`;
  let byKey = instances.get(over);
  if (!byKey) instances.set(over, byKey = new Map());
  let k = byKey.get(key);
  if (!k) {
    const module = compiled(kH, kW, sW, wideEdges, keys);
    if (!module) throw new Error('WebAssembly SIMD is not available');
    k = new WebAssembly.Instance(module, { env: { memory: over } }).exports as unknown as Kernels;
    byKey.set(key, k);
  }
  return k;
}

export function simdMaxPoolSupported(): boolean {
  return compiled(3, 3, 2, false, true) !== null;
}

/** How many input bytes one kernel call works on: with its output and line, well inside a core's L2. */
const GROUP_BYTES = 128 * 1024;

const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/** Bytes past a pooling's input and output that whole vectors may touch. */
export const POOL_SLACK = 16 * Math.max(UNROLL, ENCODE_UNROLL);

/**
 * Max pooling of planes that already lie in a kernel memory, in the kernels' shape for window g:
 * what every call shares (the row table, the line) and one call per group of planes.
 */
export interface MaxPoolRun {
  /** Bytes of memory the row table and the line take, from where they are put. */
  scratchBytes: number;
  /**
   * Pools output rows [oy0, oy0 + rows) of `planes` planes whose input rows from `y0` lie at
   * `inAt`, planes `planeBytes` apart (POOL_SLACK readable past the last), into `outAt`: planes of
   * `rows` x outW floats one after another. The input is turned into keys in place.
   */
  run(inAt: number, planeBytes: number, planes: number, y0: number, oy0: number, rows: number, outAt: number): void;
}

/** The kernels for window g over `over`, their row table and line at `scratchAt` (16-byte aligned). */
export function maxPoolRun(g: Window2d, over: WebAssembly.Memory, scratchAt: number): MaxPoolRun {
  const { inH, inW, kH, kW, strideH, strideW, padTop, padLeft, outH, outW } = g;
  const step = strideW <= 2 ? 4 * UNROLL : 1;
  const chunks = Math.ceil(outW / step);
  const vecs = Math.ceil(inW / (4 * UNROLL)) * UNROLL;
  const fillEnd = (outW - 1) * strideW + kW;
  // A 2x2 window reads each cell once, so encoding every cell costs more than cheaper maxes save.
  const keys = kH * kW > 4;
  const { pool, encode } = kernel(kH, kW, strideW, padLeft > 4 || fillEnd - (padLeft + inW) > 4, keys, over);
  // The line's cells that anything reads or writes: the vertical pass's whole vectors, the
  // horizontal pass's last iteration, the edge fill.
  const lineFloats = Math.max(padLeft + 4 * vecs, (chunks - 1) * step * strideW + Math.max(step * strideW, 4) + kW + 4, fillEnd, padLeft + inW + 4);
  // Layout: [rows | 16 bytes | line].
  const rowsAt = scratchAt;
  const lineAt = align16(rowsAt + 4 * outH * kH) + 16;
  const scratchBytes = align16(lineAt + 4 * lineFloats) - scratchAt;
  const common = [4 * padLeft, 4 * (padLeft + inW), 4 * fillEnd, 16 * vecs, chunks, 4 * outW] as const;
  const rowOf = (oy: number, ky: number) => clamp(oy * strideH - padTop + ky, inH - 1);
  let table: Int32Array | null = null;
  return {
    scratchBytes,
    run(inAt, planeBytes, planes, y0, oy0, rows, outAt) {
      // The row table holds offsets from a plane's start (row 0): made once the memory has grown to hold it.
      if (table?.buffer !== over.buffer) {
        table = new Int32Array(over.buffer, rowsAt, outH * kH);
        for (let oy = 0; oy < outH; oy++) for (let ky = 0; ky < kH; ky++) table[oy * kH + ky] = 4 * inW * rowOf(oy, ky);
      }
      // Every plane's span but the last one's, and the last one's rows that windows read.
      const span = ((planes - 1) * planeBytes) / 4 + (rowOf(oy0 + rows - 1, kH - 1) + 1 - y0) * inW;
      if (keys) encode(inAt, Math.ceil(span / (4 * ENCODE_UNROLL)));
      pool(inAt - 4 * inW * y0, outAt, planes, planeBytes, rows, rowsAt + 4 * oy0 * kH, lineAt, ...common);
    },
  };
}

/** The rows of input that output rows [oy0, oy0 + rows) of window g read: [y0, y1). */
export function maxPoolInputRows(g: Window2d, oy0: number, rows: number): [number, number] {
  return [clamp(oy0 * g.strideH - g.padTop, g.inH - 1), clamp((oy0 + rows - 1) * g.strideH - g.padTop + g.kH - 1, g.inH - 1) + 1];
}

/** Max pooling of planes [from, to) of x (default all planes of g) into out; same values as pool2d's max, NaN included. */
export function simdMaxPool2d(g: Window2d, x: Float32Array, out: Float32Array, from = 0, to = g.n * g.c): void {
  if (!simdMaxPoolSupported()) throw new Error('WebAssembly SIMD is not available');
  const { inH, inW, kH, strideH, outH, outW } = g;
  if (to <= from || outH === 0 || outW === 0) return;
  const inPlane = inH * inW;
  const outPlane = outH * outW;
  memory ??= kernelMemory();
  const pooling = maxPoolRun(g, memory, 0);

  // Small planes go several to a call; a large plane goes a band of output rows at a time, with
  // only the input rows that band's windows cover.
  const planesPerCall = Math.max(1, Math.floor(GROUP_BYTES / (4 * inPlane)));
  const bandRows = planesPerCall > 1 ? outH : Math.max(1, Math.floor(GROUP_BYTES / (4 * inW * Math.max(strideH, 1))));
  const bandInRows = planesPerCall > 1 ? inH : Math.min(inH, (Math.min(bandRows, outH) - 1) * strideH + kH);

  // Layout: [row table and line | input | slack | output | slack].
  const inAt = pooling.scratchBytes;
  const inFloats = planesPerCall > 1 ? planesPerCall * inPlane : bandInRows * inW;
  const outAt = align16(inAt + 4 * inFloats + POOL_SLACK);
  const outFloats = planesPerCall > 1 ? planesPerCall * outPlane : bandRows * outW;
  ensureBytes(memory, outAt + 4 * outFloats + POOL_SLACK);
  if (floats.buffer !== memory.buffer) floats = new Float32Array(memory.buffer);

  if (planesPerCall > 1) {
    for (let p = from; p < to; p += planesPerCall) {
      const n = Math.min(planesPerCall, to - p);
      floats.set(x.subarray(p * inPlane, (p + n) * inPlane), inAt / 4);
      pooling.run(inAt, 4 * inPlane, n, 0, 0, outH, outAt);
      out.set(floats.subarray(outAt / 4, outAt / 4 + n * outPlane), p * outPlane);
    }
    return;
  }
  for (let p = from; p < to; p++) {
    for (let oy0 = 0; oy0 < outH; oy0 += bandRows) {
      const rows = Math.min(bandRows, outH - oy0);
      const [y0, y1] = maxPoolInputRows(g, oy0, rows);
      floats.set(x.subarray(p * inPlane + y0 * inW, p * inPlane + y1 * inW), inAt / 4);
      pooling.run(inAt, 4 * (y1 - y0) * inW, 1, y0, oy0, rows, outAt);
      out.set(floats.subarray(outAt / 4, outAt / 4 + rows * outW), p * outPlane + oy0 * outW);
    }
  }
}
