// Depthwise convolution (one input and one output channel per group: MobileFaceNet's blocks) on
// WebAssembly SIMD, plane by plane. Each plane is copied with its zero padding written out, so
// four neighbouring outputs read their taps with one vector load (stride 1) or two and a
// shuffle (stride 2), and no tap needs a bounds check. Bias and PReLU are applied in registers.
import type { ConvPlan } from './convPlan.ts';
import { compileModule, ensureBytes, F32, I32, instantiate, op, V128, type WasmFunction } from './wasm.ts';

// depthwise(src, dst, w, padW, outH, outW, kH, kW, params, act): src a padded plane, dst its
// outH x outW output (rows written four floats at a time: a row's last vector spills into the
// next row, which overwrites it), w the kH x kW taps, params [bias, alpha] floats.
const [SRC, DST, W, PAD_W, OUT_H, OUT_W, KH, KW, PARAMS, ACT] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const [OY, OX, ROW, P, RP, WP, KY, KX, D] = [10, 11, 12, 13, 14, 15, 16, 17, 18];
const [ACC, T] = [19, 20];

function depthwiseFunction(stride: 1 | 2): WasmFunction {
  const lanes = stride === 1
    ? [...op.get(RP), ...op.load(0)]
    : [...op.get(RP), ...op.load(0), ...op.get(RP), ...op.load(16), ...op.shuffle([0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27])];
  const body = [
    ...op.get(SRC), ...op.set(ROW),
    ...op.loop, // output rows
    ...op.get(DST), ...op.get(OY), ...op.get(OUT_W), ...op.mul, ...op.i32(2), ...op.shl, ...op.add, ...op.set(D),
    ...op.get(ROW), ...op.set(P), ...op.i32(0), ...op.set(OX),
    ...op.loop, // four outputs at a time
    ...op.zero, ...op.set(ACC), ...op.get(W), ...op.set(WP), ...op.i32(0), ...op.set(KY),
    ...op.loop, // window rows
    ...op.get(P), ...op.get(KY), ...op.get(PAD_W), ...op.mul, ...op.i32(2), ...op.shl, ...op.add, ...op.set(RP),
    ...op.i32(0), ...op.set(KX),
    ...op.loop, // window columns
    ...op.get(ACC), ...op.get(WP), ...op.loadSplat(0), ...lanes, ...op.fmul, ...op.fadd, ...op.set(ACC),
    ...op.get(WP), ...op.i32(4), ...op.add, ...op.set(WP),
    ...op.get(RP), ...op.i32(4), ...op.add, ...op.set(RP),
    ...op.get(KX), ...op.i32(1), ...op.add, ...op.set(KX),
    ...op.get(KX), ...op.get(KW), ...op.ltU, ...op.brIf(0), ...op.end,
    ...op.get(KY), ...op.i32(1), ...op.add, ...op.set(KY),
    ...op.get(KY), ...op.get(KH), ...op.ltU, ...op.brIf(0), ...op.end,
    ...op.get(ACC), ...op.get(PARAMS), ...op.loadSplat(0), ...op.fadd, ...op.set(ACC),
    ...op.get(ACT), ...op.if,
    ...op.get(PARAMS), ...op.loadSplat(4), ...op.set(T),
    ...op.get(ACC), ...op.zero, ...op.fmax, ...op.get(T), ...op.get(ACC), ...op.zero, ...op.fmin, ...op.fmul, ...op.fadd, ...op.set(ACC),
    ...op.end,
    ...op.get(D), ...op.get(ACC), ...op.store(0),
    ...op.get(D), ...op.i32(16), ...op.add, ...op.set(D),
    ...op.get(P), ...op.i32(16 * stride), ...op.add, ...op.set(P),
    ...op.get(OX), ...op.i32(4), ...op.add, ...op.set(OX),
    ...op.get(OX), ...op.get(OUT_W), ...op.ltU, ...op.brIf(0), ...op.end,
    ...op.get(ROW), ...op.get(PAD_W), ...op.i32(2 + stride - 1), ...op.shl, ...op.add, ...op.set(ROW),
    ...op.get(OY), ...op.i32(1), ...op.add, ...op.set(OY),
    ...op.get(OY), ...op.get(OUT_H), ...op.ltU, ...op.brIf(0), ...op.end,
  ];
  return { name: `depthwise${stride}`, params: 10, locals: [[D - OY + 1, I32], [2, V128]], body };
}

let compiled: WebAssembly.Module | null | undefined;
type Kernel = (...a: number[]) => void;
let instance: { memory: WebAssembly.Memory; exports: { depthwise1: Kernel; depthwise2: Kernel } } | null = null;

/** Whether planes of this geometry run here: same stride both ways, 1 or 2. */
export function simdDepthwiseFits(p: ConvPlan): boolean {
  if (compiled === undefined) compiled = compileModule([depthwiseFunction(1), depthwiseFunction(2)]);
  return compiled !== null && p.strideH === p.strideW && (p.strideW === 1 || p.strideW === 2);
}

/** Planes [from, to) (batch item * channels + channel) of a depthwise conv; as depthwiseTasks. */
export function simdDepthwiseTasks(
  p: ConvPlan, x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array,
  alpha: Float32Array | null, from: number, to: number,
): void {
  const { inH, inW, kH, kW, strideW: s, padTop, padLeft, outH, outW } = p;
  const outW4 = Math.ceil(outW / 4) * 4;
  // Wide enough for the last vector's lanes (and stride 2's one extra float), tall enough for every window.
  const padW = Math.max(inW + padLeft, (outW4 - 1) * s + kW + 1);
  const padH = Math.max(inH + padTop, (outH - 1) * s + kH);
  const taps = kH * kW;
  const plane = outH * outW;
  // Layout: [padded plane | output plane + one vector of spill | taps | bias, alpha].
  const dstAt = 4 * padH * padW + 16;
  const wAt = dstAt + 4 * (plane + 4);
  const paramsAt = wAt + 4 * Math.ceil(taps / 4) * 4;
  instance ??= instantiate(compiled!);
  ensureBytes(instance.memory, paramsAt + 16);
  const buffer = instance.memory.buffer;
  const padded = new Float32Array(buffer, 0, padH * padW);
  const weights = new Float32Array(buffer, wAt, taps);
  const params = new Float32Array(buffer, paramsAt, 2);
  const result = new Float32Array(buffer, dstAt, plane);
  const kernel = s === 1 ? instance.exports.depthwise1 : instance.exports.depthwise2;
  padded.fill(0);
  for (let t = from; t < to; t++) {
    const c = t % p.cIn;
    for (let y = 0; y < inH; y++) padded.set(x.subarray((t * inH + y) * inW, (t * inH + y + 1) * inW), (y + padTop) * padW + padLeft);
    weights.set(w.subarray(c * taps, (c + 1) * taps));
    params[0] = bias ? bias[c] : 0;
    params[1] = p.activation === 2 ? alpha![c] : 0;
    kernel(0, dstAt, wAt, padW, outH, outW, kH, kW, paramsAt, p.activation === 0 ? 0 : 1);
    out.set(result, t * plane);
  }
}
