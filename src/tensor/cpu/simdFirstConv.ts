// The first convolution of a net (3 input channels: MTCNN's 3x3, nn4.small2's 7x7 stride 2,
// MobileFaceNet's 3x3 stride 2) as a direct WebAssembly SIMD kernel. Through im2col + GEMM
// (simdConv.ts) its reduction is short (27 to 147), and im2col writes and rereads that many
// floats for every output pixel, with the GEMM's per-tile overhead spread over few
// multiplications. Here the kernel reads the input rows where they lie: four adjacent output
// pixels of one row are four adjacent floats at every tap, so each tap is one unaligned vector
// load per 4 pixels, and the weights are splatted from the packed layout. For that, the input
// rows are staged in the kernel's memory with their padding, and with a stride of 2 across
// (stride 2 along x), each row as its even columns followed by its odd ones: output pixel x at
// tap kx then reads column x + floor(kx / 2) of the half kx % 2 picks.
//
// The results are the GEMM's bit for bit: each output lane starts at +0 and adds
// weight * input for k = (c, ky, kx) in the same order with separate float32 multiplies and
// adds (padding's zeros included, as im2col writes them), then the same bias add and the same
// values of max(y, 0) + alpha * min(y, 0) (test/simd-first-conv.test.ts checks Object.is on
// every element). CpuBackendOptions.firstConv (TSFACE_FIRSTCONV=0) turns it off.

import { convSizes, convTask, MR, type ConvPlan } from './convPlan.ts';
import { maxPoolInputRows, maxPoolRun, POOL_SLACK } from './simdPool.ts';
import { compileModule, ensureBytes, I32, instantiate, op, uleb, V128, type WasmFunction } from './wasm.ts';

const CIN = 3;
/** The largest kernel side taken (nn4.small2's 7x7): its 147 taps' table stays small. */
const MAX_K = 7;

/**
 * Whether a conv takes this kernel: dense, 3 -> any, kernels up to 7x7, stride 1 or 2 each way,
 * any padding, on the SIMD GEMM path.
 */
export function simdFirstConvFits(p: ConvPlan): boolean {
  return p.simd && p.firstConv !== false && !p.winograd && p.groups === 1 && p.cIn === CIN && p.kH <= MAX_K && p.kW <= MAX_K
    && (p.strideH === 1 || p.strideH === 2) && (p.strideW === 1 || p.strideW === 2)
    && firstConvSupported();
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
// table of the taps' byte offsets (c, ky, kx order) from a window's first input float, how
// many output rows, where the first row starts and the last row ends (pixels), the output
// width and the taps table's end. Output pixel (i, x) of channel m goes to
// out + m * ldc + 4 * (i * outW + x); its window starts at in + i * row + 4 * x.
const [W, BIAS, ALPHA, ACT, IN, OUT, LDC, ROW, TAPTABLE, ROWS, X0, XLAST, OUTW, TEND] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
const PARAMS = TEND + 1;
// i32 locals: row index, x, end of this row's span, the step's input and output addresses,
// a scratch address (one tap's input, one channel's tile row), the tap and weight pointers.
const [I, X, XE, P, Q, QM, TP, WP] = [14, 15, 16, 17, 18, 19, 20, 21];
const I32_LOCALS = WP + 1 - I;
// v128 locals: input lanes, a splatted weight, accumulators.
const V128_BASE = I + I32_LOCALS;
const IV = (v: number) => V128_BASE + v;
const WV = V128_BASE + 2;
const ACC = (m: number, v: number) => V128_BASE + 3 + m * 2 + v;

/**
 * One step: `width` vectors of 4 pixels for m channels, at input P and tile Q. The taps are a
 * loop, not unrolled: in straight-line code V8 schedules all of MTCNN's 27 taps' loads ahead of the
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
  return { name: `conv${m}`, params: PARAMS, locals: [[I32_LOCALS, I32], [3 + 2 * MR, V128]], body };
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

function firstConvInstance(): { memory: WebAssembly.Memory; kernels: Kernel[] } {
  const module = firstConvModule();
  if (!module) throw new Error('WebAssembly SIMD is not available');
  if (!instance) {
    const { memory, exports } = instantiate<Record<string, Kernel>>(module);
    instance = { memory, kernels: [1, 2, 3, 4].map((m) => exports[`conv${m}`]) };
  }
  return instance;
}

const align = (n: number) => Math.ceil(n / 4) * 4;

/** Floats read past a staged band's last row by a step's unwanted lanes (8 pixels, a 7-tap reach). */
const STAGE_SLACK = 16;

/**
 * How input rows lie in the kernel's memory: each padded row `row` floats long, the columns the
 * windows cover; with stride 2 across, its even columns first and its odd ones `half` floats on.
 */
interface Staging {
  half: number;
  row: number;
}

function stagingOf(p: ConvPlan): Staging {
  const covered = (p.outW - 1) * p.strideW + p.kW;
  const half = Math.ceil(covered / p.strideW);
  return { half, row: p.strideW * half };
}

/** The padded input rows [first, end) that output rows [oy0, oy1) read. */
function paddedRows(p: ConvPlan, oy0: number, oy1: number): [number, number] {
  return [oy0 * p.strideH, (oy1 - 1) * p.strideH + p.kH];
}

/** Floats of kernel memory the staged rows of `outRows` output rows take, slack included. */
function stagedFloats(p: ConvPlan, outRows: number): number {
  return CIN * paddedRows(p, 0, outRows)[1] * stagingOf(p).row + STAGE_SLACK;
}

/**
 * The kernel's memory for one call: packed weights from byte 0, then biases and slopes per packed
 * row and the taps' table, all written here; `after` bytes from `freeAt` are the caller's (who
 * may grow it further).
 */
function loadedKernel(p: ConvPlan, packed: Float32Array, bias: Float32Array | null, alpha: Float32Array | null, after: number) {
  const { memory, kernels } = firstConvInstance();
  const { K, blocks } = convSizes(p);
  const rows = blocks * MR;
  const biasAt = 4 * align(rows * K);
  const alphaAt = biasAt + 4 * rows;
  const tapsAt = alphaAt + 4 * rows;
  const freeAt = tapsAt + 4 * align(K);
  ensureBytes(memory, freeAt + after);
  const heap = new Float32Array(memory.buffer);
  heap.set(packed.subarray(0, rows * K), 0);
  for (let c = 0; c < rows; c++) {
    heap[biasAt / 4 + c] = c < p.cOut && bias ? bias[c] : 0;
    heap[alphaAt / 4 + c] = c < p.cOut && p.activation === 2 ? alpha![c] : 0;
  }
  const st = stagingOf(p);
  /** The taps' offsets for staged planes `band` floats apart. */
  const setTaps = (band: number) => {
    // A view made now: the caller may have grown the memory since.
    const taps = new Int32Array(memory.buffer, tapsAt, K);
    let i = 0;
    for (let c = 0; c < CIN; c++) {
      for (let ky = 0; ky < p.kH; ky++) {
        for (let kx = 0; kx < p.kW; kx++) taps[i++] = 4 * (c * band + ky * st.row + (kx % p.strideW) * st.half + Math.floor(kx / p.strideW));
      }
    }
  };
  /**
   * Output pixels [j0, j1) of every channel (rows oy0 = j0 / outW ...) from the staged row of
   * output row oy0 at `inAt`, into the tile at `tileAt`, channels `ldc` floats apart, its first
   * float pixel j0.
   */
  const convolve = (inAt: number, tileAt: number, ldc: number, j0: number, j1: number) => {
    const { outW } = p;
    const oy0 = Math.floor(j0 / outW);
    const x0 = j0 - oy0 * outW;
    const oyL = Math.floor((j1 - 1) / outW);
    const xLast = j1 - oyL * outW;
    // Pixel (row oy0, x = 0) would sit x0 floats before the tile (i32 arithmetic wraps).
    const outAt = tileAt - 4 * x0;
    const act = p.activation !== 0 ? 1 : 0;
    for (let b = 0; b < blocks; b++) {
      const m = Math.min(MR, p.cOut - b * MR);
      kernels[m - 1](4 * b * K * MR, biasAt + 16 * b, alphaAt + 16 * b, act, inAt, (outAt + 16 * b * ldc) | 0, 4 * ldc, 4 * p.strideH * st.row, tapsAt, oyL - oy0 + 1, x0, xLast, outW, tapsAt + 4 * K);
    }
  };
  return { memory, freeAt, st, setTaps, convolve };
}

/**
 * Padded rows [py0, py1) of batch item `item`'s three planes staged in the kernel's memory at
 * `at` (bytes), planes (py1 - py0) staged rows apart; returns that plane stride in floats.
 */
function stageRows(p: ConvPlan, st: Staging, x: Float32Array, heap: Float32Array, at: number, item: number, py0: number, py1: number): number {
  const { inH, inW, padTop, padLeft, strideW } = p;
  const plane = inH * inW;
  const band = (py1 - py0) * st.row;
  const src = item * CIN * plane;
  const base = at / 4;
  if (strideW === 1 && padLeft === 0 && st.row === inW && py0 >= padTop && py1 - padTop <= inH) {
    // The rows lie as in the input (MTCNN's unpadded convs): copied whole.
    const top = py0 - padTop;
    if (band === plane) heap.set(x.subarray(src, src + CIN * plane), base);
    else for (let c = 0; c < CIN; c++) heap.set(x.subarray(src + c * plane + top * inW, src + c * plane + top * inW + band), base + c * band);
    return band;
  }
  heap.fill(0, base, base + CIN * band);
  // Input columns [0, cols) land in the covered padded columns.
  const cols = Math.min(inW, st.row - padLeft);
  for (let c = 0; c < CIN; c++) {
    for (let py = Math.max(py0, padTop); py < Math.min(py1, inH + padTop); py++) {
      const from = src + c * plane + (py - padTop) * inW;
      const to = base + c * band + (py - py0) * st.row;
      if (strideW === 1) {
        heap.set(x.subarray(from, from + cols), to + padLeft);
        continue;
      }
      for (let ix = 0; ix < cols; ix++) {
        const pc = ix + padLeft;
        heap[to + (pc & 1) * st.half + (pc >> 1)] = x[from + ix];
      }
    }
  }
  return band;
}

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
  if (p.pool) {
    pooledTasks(p, x, packed, bias, out, alpha, from, to);
    return;
  }
  const { blocks, hw } = convSizes(p);
  const { outW, cOut } = p;
  const cols = Math.min(p.chunk, hw);
  // Tile rows: the chunk plus slack for the last step's unwanted lanes, 16-byte aligned.
  const ldc = Math.ceil(cols / 4) * 4 + 8;
  const tileFloats = blocks * MR * ldc;
  const kernel = loadedKernel(p, packed, bias, alpha, 4 * (tileFloats + stagedFloats(p, p.outH)));
  const { st } = kernel;
  const tileAt = kernel.freeAt;
  const inputAt = tileAt + 4 * tileFloats;
  const heap = new Float32Array(kernel.memory.buffer);
  const tile = heap.subarray(tileAt / 4, tileAt / 4 + tileFloats);
  const tileRows = Array.from({ length: cOut }, (_, m) => tile.subarray(m * ldc, m * ldc + cols));
  const chunks = Math.ceil(hw / p.chunk);
  for (let t = from; t < to; ) {
    // The rows this share of the item's tasks reads, staged once.
    const item = Math.floor(t / chunks);
    const end = Math.min(to, (item + 1) * chunks);
    const top = Math.floor(convTask(p, t).j0 / outW);
    const [py0, py1] = paddedRows(p, top, Math.floor((convTask(p, end - 1).j1 - 1) / outW) + 1);
    kernel.setTaps(stageRows(p, st, x, heap, inputAt, item, py0, py1));
    for (; t < end; t++) {
      const { j0, j1 } = convTask(p, t);
      kernel.convolve(inputAt + 4 * (Math.floor(j0 / outW) * p.strideH - py0) * st.row, tileAt, ldc, j0, j1);
      const n = j1 - j0;
      const dst = item * cOut * hw + j0;
      for (let c = 0; c < cOut; c++) out.set(n === cols ? tileRows[c] : tile.subarray(c * ldc, c * ldc + n), dst + c * hw);
    }
  }
}

/** Bytes of conv output a fused conv + pooling task keeps in the kernel's memory: within a core's L2 with the rest. */
const POOLED_TILE_BYTES = 384 * 1024;

/** Pooled output rows per task of a conv with `pool`: as many as fit POOLED_TILE_BYTES of conv rows, at least one. */
function pooledBandRows(p: ConvPlan): number {
  const g = p.pool!;
  const convRows = Math.floor(POOLED_TILE_BYTES / (4 * p.cOut * p.outW));
  return Math.min(g.outH, Math.max(1, Math.floor((convRows - g.kH) / g.strideH) + 1));
}

/** Tasks of a conv with `pool`: (batch item, band of pooled rows), bands fastest. */
export function pooledTaskCount(p: ConvPlan): number {
  return p.n * Math.ceil(p.pool!.outH / pooledBandRows(p));
}

/**
 * Tasks of a conv followed by max pooling (ConvPlan.pool): per task, the conv rows its band of
 * pooled rows reads are computed into the tile, planes one after another, and pooled there by
 * simdPool's kernels over this kernel's memory; only the pooled rows leave. The pooled values
 * are simdMaxPool2d's of this kernel's output, bit for bit: the same maxima of the same floats.
 */
function pooledTasks(
  p: ConvPlan, x: Float32Array, packed: Float32Array, bias: Float32Array | null, out: Float32Array,
  alpha: Float32Array | null, from: number, to: number,
): void {
  const g = p.pool!;
  const { blocks } = convSizes(p);
  const { outW, cOut } = p;
  const bandRows = pooledBandRows(p);
  const bands = Math.ceil(g.outH / bandRows);
  // The most conv rows a band reads (a first band clipped by padding may read fewer).
  const convRows = Math.min(p.outH, (bandRows - 1) * g.strideH + g.kH);
  // Tile planes: the band's conv rows plus slack for the last step's unwanted lanes, which the
  // pooling's whole vectors may read too.
  const ldc = align(convRows * outW) + 8;
  const tileFloats = blocks * MR * ldc;
  const outFloats = cOut * bandRows * g.outW;
  const inFloats = stagedFloats(p, convRows);
  const kernel = loadedKernel(p, packed, bias, alpha, 0);
  const pooling = maxPoolRun(g, kernel.memory, kernel.freeAt);
  const tileAt = kernel.freeAt + pooling.scratchBytes;
  const outAt = tileAt + 4 * tileFloats + POOL_SLACK;
  const inputAt = outAt + 4 * outFloats + POOL_SLACK;
  ensureBytes(kernel.memory, inputAt + 4 * inFloats);
  const heap = new Float32Array(kernel.memory.buffer);
  const pooledPlane = g.outH * g.outW;
  for (let t = from; t < to; t++) {
    const item = Math.floor(t / bands);
    const oy0 = (t % bands) * bandRows;
    const rows = Math.min(bandRows, g.outH - oy0);
    const [y0, y1] = maxPoolInputRows(g, oy0, rows);
    const [py0, py1] = paddedRows(p, y0, y1);
    kernel.setTaps(stageRows(p, kernel.st, x, heap, inputAt, item, py0, py1));
    kernel.convolve(inputAt, tileAt, ldc, y0 * outW, y1 * outW);
    pooling.run(tileAt, 4 * ldc, cOut, y0, oy0, rows, outAt);
    const n = rows * g.outW;
    const dst = item * cOut * pooledPlane + oy0 * g.outW;
    for (let c = 0; c < cOut; c++) out.set(heap.subarray(outAt / 4 + c * n, outAt / 4 + (c + 1) * n), dst + c * pooledPlane);
  }
}
