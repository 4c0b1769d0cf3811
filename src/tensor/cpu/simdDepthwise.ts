// Depthwise convolution (one input and one output channel per group: MobileFaceNet's blocks) on
// WebAssembly SIMD. One call runs a batch of planes: each plane's rows are copied into a
// zero-bordered scratch plane (memory.copy), so four neighbouring outputs read a tap with one
// vector load (stride 1) or two and a shuffle (stride 2), and no tap needs a bounds check. The
// taps are unrolled for the window's shape (a module per kH x kW and stride) with a 3x3
// window's nine weights held splatted in registers through the plane.
//
// Small planes are the reason for the batch: MobileFaceNet's 14x14 and 7x7 planes cost a few
// hundred cycles of arithmetic each, less than a JavaScript round trip per plane (views, row
// copies, a call), so the batch's planes go in with one copy and come out with one.
//
// Every output is ((0 + w0 x0) + w1 x1) + ... in tap order, rounded to float32 at each step,
// then + bias, then max(y, 0) + alpha * min(y, 0): the order the TypeScript reference's float64
// sum approximates, fixed so that every batch size and thread split gives the same bits.
import type { ConvPlan } from './convPlan.ts';
import { copyFloats } from './copy.ts';
import { compileModule, ensureBytes, I32, op, V128, kernelMemory, type WasmFunction } from './wasm.ts';

// planes(src, dst, w, bias, alpha, count, c0, cIn, act, inH, inW, padW, outH, outW, interior, scratchBytes):
// `count` input planes at src (inH x inW each, contiguous) to as many output planes at dst,
// plane i of channel (c0 + i) % cIn; w holds every channel's taps, bias and alpha a float per
// channel. The scratch plane sits at byte 0, `interior` bytes to its first copied row's first
// float; its first `scratchBytes` are zeroed once per call and its border is never written.
// Rows of the output are written four floats at a time: a row's last vector spills into the
// next row (or plane), which is written after and overwrites it; dst has one vector of slack.
const [SRC, DST, W, BIAS, ALPHA, COUNT, C0, CIN, ACT, IN_H, IN_W, PAD_W, OUT_H, OUT_W, INTERIOR, SCRATCH_BYTES] =
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
const PARAMS = 16;
// i32 locals.
const [C, S, Q, Y, WP, ROW, DROW, D, P, RP, X, OY, VECTORS, IN_W4, PAD_W4, OUT_W4, ROW_STEP] =
  [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32];
// Byte offsets of window rows 1 .. kH-1 from row 0: KY_OFF + ky - 1.
const KY_OFF = 33;
/** Windows of at most this many taps keep their weights splatted in registers. */
const HELD_TAPS = 9;

function planesFunction(kH: number, kW: number, stride: 1 | 2): WasmFunction {
  const taps = kH * kW;
  const held = taps <= HELD_TAPS;
  const i32Locals = KY_OFF + kH - 1 - PARAMS;
  const ACC = KY_OFF + kH - 1;
  const BIAS_V = ACC + 1;
  const ALPHA_V = ACC + 2;
  const WV = ACC + 3;
  const weight = (i: number) => (held ? op.get(WV + i) : [...op.get(WP), ...op.loadSplat(4 * i)]);
  const lanes = (kx: number) => stride === 1
    ? [...op.get(RP), ...op.load(4 * kx)]
    : [...op.get(RP), ...op.load(4 * kx), ...op.get(RP), ...op.load(4 * kx + 16), ...op.shuffle([0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27])];
  const window: number[] = [];
  for (let ky = 0; ky < kH; ky++) {
    window.push(...op.get(P), ...(ky ? [...op.get(KY_OFF + ky - 1), ...op.add] : []), ...op.set(RP));
    for (let kx = 0; kx < kW; kx++) window.push(...op.get(ACC), ...weight(ky * kW + kx), ...lanes(kx), ...op.fmul, ...op.fadd, ...op.set(ACC));
  }
  const body = [
    ...op.i32(0), ...op.i32(0), ...op.get(SCRATCH_BYTES), ...op.memoryFill,
    ...op.get(IN_W), ...op.i32(2), ...op.shl, ...op.set(IN_W4),
    ...op.get(PAD_W), ...op.i32(2), ...op.shl, ...op.set(PAD_W4),
    ...op.get(OUT_W), ...op.i32(2), ...op.shl, ...op.set(OUT_W4),
    ...op.get(PAD_W4), ...op.i32(stride - 1), ...op.shl, ...op.set(ROW_STEP),
    ...op.get(OUT_W), ...op.i32(3), ...op.add, ...op.i32(2), ...op.shrU, ...op.set(VECTORS),
  ];
  for (let ky = 1; ky < kH; ky++) body.push(...op.get(PAD_W4), ...op.i32(ky), ...op.mul, ...op.set(KY_OFF + ky - 1));
  body.push(
    ...op.get(C0), ...op.set(C), ...op.get(SRC), ...op.set(S), ...op.get(DST), ...op.set(DROW),
    ...op.loop, // planes
    // The plane's rows into the scratch plane's interior.
    ...op.get(INTERIOR), ...op.set(Q), ...op.get(IN_H), ...op.set(Y),
    ...op.loop,
    ...op.get(Q), ...op.get(S), ...op.get(IN_W4), ...op.memoryCopy,
    ...op.get(Q), ...op.get(PAD_W4), ...op.add, ...op.set(Q),
    ...op.get(S), ...op.get(IN_W4), ...op.add, ...op.set(S),
    ...op.get(Y), ...op.i32(1), ...op.sub, ...op.tee(Y), ...op.brIf(0), ...op.end,
    // This channel's weights, bias and slope.
    ...op.get(W), ...op.get(C), ...op.i32(4 * taps), ...op.mul, ...op.add, ...op.set(WP),
  );
  if (held) for (let i = 0; i < taps; i++) body.push(...op.get(WP), ...op.loadSplat(4 * i), ...op.set(WV + i));
  body.push(
    ...op.get(BIAS), ...op.get(C), ...op.i32(2), ...op.shl, ...op.add, ...op.loadSplat(0), ...op.set(BIAS_V),
    ...op.get(ALPHA), ...op.get(C), ...op.i32(2), ...op.shl, ...op.add, ...op.loadSplat(0), ...op.set(ALPHA_V),
    ...op.i32(0), ...op.set(ROW), ...op.get(OUT_H), ...op.set(OY),
    ...op.loop, // output rows
    ...op.get(ROW), ...op.set(P), ...op.get(DROW), ...op.set(D), ...op.get(VECTORS), ...op.set(X),
    ...op.loop, // four outputs at a time
    ...op.zero, ...op.set(ACC),
    ...window,
    ...op.get(ACC), ...op.get(BIAS_V), ...op.fadd, ...op.set(ACC),
    ...op.get(ACT), ...op.if,
    ...op.get(ACC), ...op.zero, ...op.fmax, ...op.get(ALPHA_V), ...op.get(ACC), ...op.zero, ...op.fmin, ...op.fmul, ...op.fadd, ...op.set(ACC),
    ...op.end,
    ...op.get(D), ...op.get(ACC), ...op.store(0),
    ...op.get(D), ...op.i32(16), ...op.add, ...op.set(D),
    ...op.get(P), ...op.i32(16 * stride), ...op.add, ...op.set(P),
    ...op.get(X), ...op.i32(1), ...op.sub, ...op.tee(X), ...op.brIf(0), ...op.end,
    ...op.get(ROW), ...op.get(ROW_STEP), ...op.add, ...op.set(ROW),
    ...op.get(DROW), ...op.get(OUT_W4), ...op.add, ...op.set(DROW),
    ...op.get(OY), ...op.i32(1), ...op.sub, ...op.tee(OY), ...op.brIf(0), ...op.end,
    // Next plane: its channel, wrapping after the last.
    ...op.get(C), ...op.i32(1), ...op.add, ...op.tee(C), ...op.get(CIN), ...op.eq, ...op.if, ...op.i32(0), ...op.set(C), ...op.end,
    ...op.get(COUNT), ...op.i32(1), ...op.sub, ...op.tee(COUNT), ...op.brIf(0), ...op.end,
  );
  return { name: 'planes', params: PARAMS, locals: [[i32Locals, I32], [3 + (held ? taps : 0), V128]], body };
}

// Modules by window shape and stride, and their instances over one memory (per thread, as all
// module state: each kernel worker has its own).
const modules = new Map<string, WebAssembly.Module | null>();
const kernels = new Map<string, (...a: number[]) => void>();
let memory: WebAssembly.Memory | null = null;

function compiled(kH: number, kW: number, stride: 1 | 2): WebAssembly.Module | null {
  const key = `${kH}x${kW}/${stride}`;
  if (!modules.has(key)) modules.set(key, compileModule([planesFunction(kH, kW, stride)]));
  return modules.get(key)!;
}

function kernel(kH: number, kW: number, stride: 1 | 2): (...a: number[]) => void {
  const key = `${kH}x${kW}/${stride}`;
  let k = kernels.get(key);
  if (!k) {
    memory ??= kernelMemory();
    k = (new WebAssembly.Instance(compiled(kH, kW, stride)!, { env: { memory } }).exports as { planes: (...a: number[]) => void }).planes;
    kernels.set(key, k);
  }
  return k;
}

/** Whether planes of this geometry run here: same stride both ways, 1 or 2, and an engine with SIMD and bulk memory. */
export function simdDepthwiseFits(p: ConvPlan): boolean {
  return p.strideH === p.strideW && (p.strideW === 1 || p.strideW === 2) && compiled(p.kH, p.kW, p.strideW) !== null;
}

/** Input and output floats a batch of planes may hold: about 128 KB, so a batch stays in L2. */
const BATCH_FLOATS = 32768;

/** Planes [from, to) (batch item * channels + channel) of a depthwise conv; as depthwiseTasks. */
export function simdDepthwiseTasks(
  p: ConvPlan, x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array,
  alpha: Float32Array | null, from: number, to: number,
): void {
  if (to <= from) return;
  const { inH, inW, kH, kW, strideW, padTop, padLeft, outH, outW, cIn } = p;
  const s = strideW as 1 | 2;
  const vectors = Math.ceil(outW / 4);
  // Wide enough for the last vector's lanes (and stride 2's one extra float), tall enough for every window.
  const padW = Math.max(inW + padLeft, (4 * vectors - 1) * s + kW + 1);
  const padH = Math.max(inH + padTop, (outH - 1) * s + kH);
  const taps = kH * kW;
  const inPlane = inH * inW;
  const outPlane = outH * outW;
  const batch = Math.max(1, Math.min(to - from, Math.floor(BATCH_FLOATS / (inPlane + outPlane))));
  // Byte offsets, each region 16-byte aligned: [scratch plane + slack | taps | bias | alpha | input planes | output planes + a vector].
  const bytes = (floats: number) => Math.ceil(floats / 4) * 16;
  const scratchBytes = bytes(padH * padW + 4);
  const wAt = scratchBytes;
  const biasAt = wAt + bytes(cIn * taps);
  const alphaAt = biasAt + bytes(cIn);
  const srcAt = alphaAt + bytes(cIn);
  const dstAt = srcAt + bytes(batch * inPlane);
  const run = kernel(kH, kW, s);
  ensureBytes(memory!, dstAt + bytes(batch * outPlane + 4));
  const f = new Float32Array(memory!.buffer);
  copyFloats(f, wAt / 4, w, 0, cIn * taps);
  if (bias) copyFloats(f, biasAt / 4, bias, 0, cIn);
  else f.fill(0, biasAt / 4, biasAt / 4 + cIn);
  if (p.activation === 2) copyFloats(f, alphaAt / 4, alpha!, 0, cIn);
  else f.fill(0, alphaAt / 4, alphaAt / 4 + cIn);
  const interior = 4 * (padTop * padW + padLeft);
  for (let t = from; t < to; t += batch) {
    const count = Math.min(batch, to - t);
    copyFloats(f, srcAt / 4, x, t * inPlane, count * inPlane);
    run(srcAt, dstAt, wAt, biasAt, alphaAt, count, t % cIn, cIn, p.activation === 0 ? 0 : 1, inH, inW, padW, outH, outW, interior, scratchBytes);
    copyFloats(out, t * outPlane, f, dstAt / 4, count * outPlane);
  }
}
