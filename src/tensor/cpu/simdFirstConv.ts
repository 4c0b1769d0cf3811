// The first convolution of the MTCNN nets (3 input channels, 3x3, stride 1, no padding) as a
// direct WebAssembly SIMD kernel. Through im2col + GEMM (simdConv.ts) its reduction is only
// K = 27 long, and im2col writes and rereads 27 floats for every output pixel, with the GEMM's
// per-tile overhead spread over few multiplications. Here the kernel reads the input rows
// where they lie: four adjacent output pixels of one row are four adjacent input floats at
// every tap, so each tap is one unaligned vector load per 4 pixels, and the weights are
// splatted from the packed layout.
//
// The results are the GEMM's bit for bit: each output lane starts at +0 and adds
// weight * input for k = (c, ky, kx) in the same order with separate float32 multiplies and
// adds, then the same bias add and the same values of max(y, 0) + alpha * min(y, 0)
// (test/simd-first-conv.test.ts checks Object.is on every element). TSFACE_FIRSTCONV=0 turns it off.

import { env } from '../../platform/index.ts';
import { convSizes, convTask, MR, type ConvPlan } from './convPlan.ts';
import { compileModule, ensureBytes, I32, instantiate, op, uleb, V128, type WasmFunction } from './wasm.ts';

const CIN = 3;
const KH = 3;
const KW = 3;
const TAPS = CIN * KH * KW;

/** Whether a conv takes this kernel: dense, 3 -> any, 3x3, stride 1, no padding, on the SIMD GEMM path. */
export function simdFirstConvFits(p: ConvPlan): boolean {
  return p.simd && !p.winograd && p.groups === 1 && p.cIn === CIN && p.kH === KH && p.kW === KW
    && p.strideH === 1 && p.strideW === 1 && p.padTop === 0 && p.padLeft === 0
    && p.outH === p.inH - KH + 1 && p.outW === p.inW - KW + 1 && firstConvEnabled() && firstConvSupported();
}

let enabled: boolean | undefined;
/** TSFACE_FIRSTCONV=0 keeps these convs on im2col + GEMM (for A/B timing; the bits are the same). */
function firstConvEnabled(): boolean {
  enabled ??= env('TSFACE_FIRSTCONV') !== '0';
  return enabled;
}

// Instructions not in wasm.ts's table: i32.eqz, select, and f32x4.pmin / pmax, the "pseudo"
// minimum and maximum pmin(a, b) = b < a ? b : a, pmax(a, b) = a < b ? b : a (one x86
// instruction each, where f32x4.min / max take about eight to get NaN and -0 right).
const eqz = [0x45];
const select = [0x1b];
const pmin = [0xfd, ...uleb(0xea)];
const pmax = [0xfd, ...uleb(0xeb)];

// conv(w, bias, alpha, act, in, out, ldc, row, taps, rows, x0, xLast, outW): byte offsets of
// the block's packed weights ([k][4] floats), its biases and slopes, whether to apply the
// slopes, the input at (first row, x = 0) of channel 0, the tile at (first row, x = 0) of the
// block's first channel, the tile's channel stride and the input's row stride in bytes, the
// table of the 27 taps' byte offsets (c, ky, kx order) from a window's first input float, how
// many output rows, where the first row starts and the last row ends (pixels), and the output
// width. Output pixel (i, x) of channel m goes to out + m * ldc + 4 * (i * outW + x).
const [W, BIAS, ALPHA, ACT, IN, OUT, LDC, ROW, TAPTABLE, ROWS, X0, XLAST, OUTW] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
// i32 locals: row index, x, end of this row's span, the step's input and output addresses,
// a scratch address (one tap's input, one channel's tile row), the tap and weight pointers
// and the table's end.
const [I, X, XE, P, Q, QM, TP, WP, TEND] = [13, 14, 15, 16, 17, 18, 19, 20, 21];
const I32_LOCALS = TEND + 1 - I;
// v128 locals: input lanes, a splatted weight, accumulators.
const V128_BASE = I + I32_LOCALS;
const IV = (v: number) => V128_BASE + v;
const WV = V128_BASE + 2;
const ACC = (m: number, v: number) => V128_BASE + 3 + m * 2 + v;

/**
 * One step: `width` vectors of 4 pixels for m channels, at input P and tile Q. The taps are a
 * loop, not unrolled: in straight-line code V8 schedules all 27 taps' loads ahead of the
 * arithmetic and spills them; the loop keeps one tap's loads and the accumulators in registers.
 */
function step(m: number, width: 1 | 2): number[] {
  const code: number[] = [];
  for (let r = 0; r < m; r++) for (let v = 0; v < width; v++) code.push(...op.zero, ...op.set(ACC(r, v)));
  code.push(...op.get(TAPTABLE), ...op.set(TP), ...op.get(W), ...op.set(WP));
  code.push(...op.loop);
  code.push(...op.get(P), ...op.get(TP), ...op.loadI32(0), ...op.add, ...op.set(QM));
  for (let v = 0; v < width; v++) code.push(...op.get(QM), ...op.load(16 * v), ...op.set(IV(v)));
  for (let r = 0; r < m; r++) {
    code.push(...op.get(WP), ...op.loadSplat(4 * r), ...op.set(WV));
    // acc + w * x: the GEMM's order of operands and rounding.
    for (let v = 0; v < width; v++) code.push(...op.get(ACC(r, v)), ...op.get(WV), ...op.get(IV(v)), ...op.fmul, ...op.fadd, ...op.set(ACC(r, v)));
  }
  code.push(...op.get(WP), ...op.i32(4 * MR), ...op.add, ...op.set(WP));
  code.push(...op.get(TP), ...op.i32(4), ...op.add, ...op.tee(TP), ...op.get(TEND), ...op.ne, ...op.brIf(0), ...op.end);
  for (let r = 0; r < m; r++) {
    code.push(...op.get(BIAS), ...op.loadSplat(4 * r), ...op.set(WV));
    for (let v = 0; v < width; v++) code.push(...op.get(ACC(r, v)), ...op.get(WV), ...op.fadd, ...op.set(ACC(r, v)));
  }
  // The GEMM's activation max(y, 0) + alpha * min(y, 0) with f32x4.max / min, here as
  // pmax(0, y) + alpha * pmin(y, 0): pmin(y, 0) is min(y, 0) for every y, NaN and -0 included,
  // and pmax(0, y) is max(y, 0) for every y but NaN (+0, not NaN), where the sum is NaN anyway.
  code.push(...op.get(ACT), ...op.if);
  for (let r = 0; r < m; r++) {
    code.push(...op.get(ALPHA), ...op.loadSplat(4 * r), ...op.set(WV));
    for (let v = 0; v < width; v++) {
      code.push(...op.zero, ...op.get(ACC(r, v)), ...pmax, ...op.get(WV), ...op.get(ACC(r, v)), ...op.zero, ...pmin, ...op.fmul, ...op.fadd, ...op.set(ACC(r, v)));
    }
  }
  code.push(...op.end);
  for (let r = 0; r < m; r++) {
    if (r === 0) code.push(...op.get(Q), ...op.set(QM));
    else code.push(...op.get(QM), ...op.get(LDC), ...op.add, ...op.set(QM));
    for (let v = 0; v < width; v++) code.push(...op.get(QM), ...op.get(ACC(r, v)), ...op.store(16 * v));
  }
  return code;
}

/**
 * Rows of output for m (1 to 4) channels: each row's span in steps of 8 pixels, 4 when at most
 * 4 are left. A step past the span's end computes lanes that are not wanted: in the tile they
 * fall on the next row's first pixels (written after, in the same order) or past the task's
 * last pixel (the tile leaves slack for them), and their input reads stay inside the slack
 * after the input copy.
 */
function convFunction(m: number): WasmFunction {
  const body: number[] = [
    ...op.get(TAPTABLE), ...op.i32(4 * TAPS), ...op.add, ...op.set(TEND),
    ...op.i32(0), ...op.set(I),
    ...op.loop, // over rows
    // x = i == 0 ? x0 : 0; xe = i == rows - 1 ? xLast : outW
    ...op.get(X0), ...op.i32(0), ...op.get(I), ...eqz, ...select, ...op.set(X),
    ...op.get(XLAST), ...op.get(OUTW), ...op.get(I), ...op.i32(1), ...op.add, ...op.get(ROWS), ...op.ne, ...eqz, ...select, ...op.set(XE),
    ...op.loop, // over steps
    ...op.get(IN), ...op.get(I), ...op.get(ROW), ...op.mul, ...op.add, ...op.get(X), ...op.i32(2), ...op.shl, ...op.add, ...op.set(P),
    ...op.get(OUT), ...op.get(I), ...op.get(OUTW), ...op.mul, ...op.get(X), ...op.add, ...op.i32(2), ...op.shl, ...op.add, ...op.set(Q),
    ...op.i32(4), ...op.get(XE), ...op.get(X), ...op.sub, ...op.ltU,
    ...op.if, ...step(m, 2), ...op.get(X), ...op.i32(8), ...op.add, ...op.set(X),
    ...op.else, ...step(m, 1), ...op.get(X), ...op.i32(4), ...op.add, ...op.set(X), ...op.end,
    ...op.get(X), ...op.get(XE), ...op.ltU, ...op.brIf(0), ...op.end,
    ...op.get(I), ...op.i32(1), ...op.add, ...op.set(I),
    ...op.get(I), ...op.get(ROWS), ...op.ltU, ...op.brIf(0), ...op.end,
  ];
  return { name: `conv${m}`, params: 13, locals: [[I32_LOCALS, I32], [3 + 2 * MR, V128]], body };
}

let compiled: WebAssembly.Module | null | undefined;
function firstConvModule(): WebAssembly.Module | null {
  if (compiled === undefined) compiled = compileModule([1, 2, 3, 4].map(convFunction));
  return compiled;
}

export function firstConvSupported(): boolean {
  return firstConvModule() !== null;
}

type Kernel = (...a: number[]) => void;
let instance: { memory: WebAssembly.Memory; kernels: Kernel[] } | undefined;

/**
 * convTasks for convs that simdFirstConvFits: per batch item of the share, the input rows its
 * tasks read are copied into the kernel's memory, then per task and block of 4 output
 * channels one call computes the task's pixels into a tile, copied out channel by channel.
 */
export function simdFirstConvTasks(
  p: ConvPlan, x: Float32Array, packed: Float32Array, bias: Float32Array | null, out: Float32Array,
  alpha: Float32Array | null, from: number, to: number,
): void {
  if (from >= to) return;
  const module = firstConvModule();
  if (!module) throw new Error('WebAssembly SIMD is not available');
  if (!instance) {
    const { memory, exports } = instantiate<Record<string, Kernel>>(module);
    instance = { memory, kernels: [1, 2, 3, 4].map((m) => exports[`conv${m}`]) };
  }
  const { K, blocks, hw } = convSizes(p);
  const { inH, inW, outW, cOut } = p;
  const plane = inH * inW;
  const cols = Math.min(p.chunk, hw);
  // Tile rows: the chunk plus slack for the last step's unwanted lanes, 16-byte aligned.
  const ldc = Math.ceil(cols / 4) * 4 + 8;
  const align = (n: number) => Math.ceil(n / 4) * 4;
  const rows = blocks * MR;
  const biasAt = 4 * align(rows * K);
  const alphaAt = biasAt + 4 * rows;
  const tapsAt = alphaAt + 4 * rows;
  const tileAt = tapsAt + 4 * align(TAPS);
  const inputAt = tileAt + 4 * align(rows * ldc);
  const bytes = inputAt + 4 * (CIN * plane + 16);
  const { memory, kernels } = instance;
  ensureBytes(memory, bytes);
  const heap = new Float32Array(memory.buffer);
  const taps = new Int32Array(memory.buffer, tapsAt, TAPS);
  heap.set(packed.subarray(0, rows * K), 0);
  for (let c = 0; c < rows; c++) {
    heap[biasAt / 4 + c] = c < cOut && bias ? bias[c] : 0;
    heap[alphaAt / 4 + c] = c < cOut && p.activation === 2 ? alpha![c] : 0;
  }
  const act = p.activation !== 0 ? 1 : 0;
  const tile = heap.subarray(tileAt / 4, tileAt / 4 + rows * ldc);
  const tileRows = Array.from({ length: cOut }, (_, m) => tile.subarray(m * ldc, m * ldc + cols));
  const chunks = Math.ceil(hw / p.chunk);
  for (let t = from; t < to; ) {
    // The rows this share of the item's tasks reads, copied once.
    const item = Math.floor(t / chunks);
    const end = Math.min(to, (item + 1) * chunks);
    const top = Math.floor(convTask(p, t).j0 / outW);
    const bottom = Math.min(inH, Math.floor((convTask(p, end - 1).j1 - 1) / outW) + KH);
    const band = (bottom - top) * inW;
    const src = item * CIN * plane;
    if (band === plane) heap.set(x.subarray(src, src + CIN * plane), inputAt / 4);
    else for (let c = 0; c < CIN; c++) heap.set(x.subarray(src + c * plane + top * inW, src + c * plane + bottom * inW), inputAt / 4 + c * band);
    let i = 0;
    for (let c = 0; c < CIN; c++) for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) taps[i++] = 4 * (c * band + ky * inW + kx);
    for (; t < end; t++) {
      const { j0, j1 } = convTask(p, t);
      const oy0 = Math.floor(j0 / outW);
      const x0 = j0 - oy0 * outW;
      const oyL = Math.floor((j1 - 1) / outW);
      const xLast = j1 - oyL * outW;
      const inAt = inputAt + 4 * (oy0 - top) * inW;
      // Pixel (row oy0, x = 0) would sit x0 floats before the tile (i32 arithmetic wraps).
      const outAt = tileAt - 4 * x0;
      for (let b = 0; b < blocks; b++) {
        const m = Math.min(MR, cOut - b * MR);
        kernels[m - 1](4 * b * K * MR, biasAt + 16 * b, alphaAt + 16 * b, act, inAt, (outAt + 16 * b * ldc) | 0, 4 * ldc, 4 * inW, tapsAt, oyL - oy0 + 1, x0, xLast, outW);
      }
      const n = j1 - j0;
      const dst = item * cOut * hw + j0;
      for (let c = 0; c < cOut; c++) out.set(n === cols ? tileRows[c] : tile.subarray(c * ldc, c * ldc + n), dst + c * hw);
    }
  }
}
