// Depthwise conv dW for 3x3 kernels of stride 1 or 2 (MobileFaceNet's) on WebAssembly SIMD: each
// (item, channel) plane pair is copied into the module's memory, x with its padding written out
// as zeros (at stride 2, each row's even and odd columns apart) and dy with its rows widened to
// whole vectors of 4 (zeros past the end), so the kernel runs without bounds checks: per output
// row, nine float32x4 sums (one per tap) of dy times x shifted by the tap, then added to nine
// float64 pairs, so float32 sums run over one row's quarter only (as the GEMM dW's pixel runs);
// the channel's totals are float64, as the TypeScript loops' (depthwise.ts). Batch 32, 1 thread,
// in turns with those loops: stride 1, 64 channels 56x56 65 -> 22 ms, 128 28x28 36 -> 11, 256
// 14x14 23 -> 8, 256 7x7 8 -> 2; stride 2 (input) 128 56x56 40 -> 26, 256 28x28 28 -> 16,
// 512 14x14 19 -> 9 (the copy that splits even and odd columns is most of the rest).
import { compileModule, ensureBytes, I32, instantiate, op, uleb, V128, type WasmFunction } from '../wasm.ts';
import type { ConvGeometry } from '../../geometry.ts';

const promoteLow = [0xfd, ...uleb(0x5f)];
const dadd = [0xfd, ...uleb(0xf0)];
/** Lanes 2, 3 of a vector (given twice) moved to lanes 0, 1. */
const highHalf = op.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);

// dwPlane(x, dy, rows, groups, xRow, dyRow, sums, advance, odd): x the padded plane (xRow bytes
// a row, x moving `advance` bytes per output row), dy `rows` rows of `groups` vectors (dyRow
// bytes a row); adds the nine taps' float64 pairs to those at `sums` (9 x 16 bytes, tap-major).
// Stride 1 reads tap kx at 4 * kx bytes on; stride 2 keeps each padded row's even columns, then
// its odd ones from `odd` bytes on, so taps 0, 1, 2 of output column j are even j, odd j, even j + 1.
const [X, DY, ROWS, GROUPS, X_ROW, DY_ROW, SUMS, ADVANCE, ODD] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
const [G, XP, DP] = [9, 10, 11];
const D = 12;
const ACC = 13; // 9 float32x4 row sums
const TOTAL = 22; // 9 float64x2 totals

function planeFunction(stride: 1 | 2): WasmFunction {
  const body: number[] = [];
  for (let t = 0; t < 9; t++) body.push(...op.get(SUMS), ...op.load(16 * t), ...op.set(TOTAL + t));
  body.push(...op.loop);
  for (let t = 0; t < 9; t++) body.push(...op.zero, ...op.set(ACC + t));
  body.push(...op.get(X), ...op.set(XP), ...op.get(DY), ...op.set(DP), ...op.get(GROUPS), ...op.set(G));
  body.push(...op.loop);
  body.push(...op.get(DP), ...op.load(0), ...op.set(D));
  for (let ky = 0; ky < 3; ky++) {
    for (let kx = 0; kx < 3; kx++) {
      const t = ky * 3 + kx;
      body.push(...op.get(ACC + t), ...op.get(D), ...op.get(XP));
      if (ky > 0) body.push(...op.get(X_ROW), ...(ky === 2 ? [...op.i32(1), ...op.shl] : []), ...op.add);
      if (stride === 2 && kx === 1) body.push(...op.get(ODD), ...op.add);
      const offset = stride === 1 ? 4 * kx : kx === 2 ? 4 : 0;
      body.push(...op.load(offset), ...op.fmul, ...op.fadd, ...op.set(ACC + t));
    }
  }
  body.push(...op.get(XP), ...op.i32(16), ...op.add, ...op.set(XP));
  body.push(...op.get(DP), ...op.i32(16), ...op.add, ...op.set(DP));
  body.push(...op.get(G), ...op.i32(1), ...op.sub, ...op.tee(G), ...op.brIf(0), ...op.end);
  // The row's sums into the float64 totals: lanes 0 + 2 and 1 + 3.
  for (let t = 0; t < 9; t++) {
    body.push(...op.get(TOTAL + t), ...op.get(ACC + t), ...promoteLow, ...dadd, ...op.get(ACC + t), ...op.get(ACC + t), ...highHalf, ...promoteLow, ...dadd, ...op.set(TOTAL + t));
  }
  body.push(...op.get(X), ...op.get(ADVANCE), ...op.add, ...op.set(X));
  body.push(...op.get(DY), ...op.get(DY_ROW), ...op.add, ...op.set(DY));
  body.push(...op.get(ROWS), ...op.i32(1), ...op.sub, ...op.tee(ROWS), ...op.brIf(0), ...op.end);
  for (let t = 0; t < 9; t++) body.push(...op.get(SUMS), ...op.get(TOTAL + t), ...op.store(16 * t));
  return { name: `dwPlane${stride}`, params: 9, locals: [[3, I32], [19, V128]], body };
}

let compiled: WebAssembly.Module | null | undefined;
let instance: { memory: WebAssembly.Memory; exports: Record<'dwPlane1' | 'dwPlane2', (...a: number[]) => void> } | null = null;

/** Whether the SIMD kernel takes this conv: depthwise 3x3, stride 1 or 2 both ways. */
export function simdDepthwiseWeightFits(p: ConvGeometry): boolean {
  if (p.kH !== 3 || p.kW !== 3 || p.strideH !== p.strideW || (p.strideH !== 1 && p.strideH !== 2)) return false;
  if (compiled === undefined) compiled = compileModule([planeFunction(1), planeFunction(2)]);
  return compiled !== null;
}

/** As depthwise.ts's depthwiseWeightGradTasks for channels [from, to) of a conv simdDepthwiseWeightFits takes. */
export function simdDepthwiseWeightGrad(p: ConvGeometry, x: Float32Array, dy: Float32Array, dw: Float32Array, from: number, to: number): void {
  const { n, cIn, inH, inW, padTop, padLeft, outH, outW } = p;
  const stride = p.strideH;
  const w4 = Math.ceil(outW / 4) * 4;
  // The padded plane's rows 0 .. stride * (outH - 1) + 2 and columns 0 .. stride * (w4 - 1) + 2;
  // at stride 2 a row holds its w4 + 1 even columns, then its odd ones.
  const cols = stride * (w4 - 1) + 3;
  const half = w4 + 1;
  const xw = stride === 1 ? cols : 2 * half;
  const xh = stride * (outH - 1) + 3;
  const sumsAt = 0;
  const xAt = 9 * 16;
  const dyAt = xAt + 4 * xw * xh;
  instance ??= instantiate(compiled!);
  ensureBytes(instance.memory, dyAt + 4 * w4 * outH);
  const buffer = instance.memory.buffer;
  const sums = new Float64Array(buffer, sumsAt, 18);
  const xs = new Float32Array(buffer, xAt, xw * xh);
  const dys = new Float32Array(buffer, dyAt, w4 * outH);
  xs.fill(0);
  dys.fill(0);
  // The input columns and rows that land inside the padded plane.
  const c0 = Math.max(0, -padLeft), c1 = Math.min(inW, cols - padLeft);
  const r0 = Math.max(0, -padTop), r1 = Math.min(inH, xh - padTop);
  const plane = inH * inW;
  const hw = outH * outW;
  const run = stride === 1 ? instance.exports.dwPlane1 : instance.exports.dwPlane2;
  for (let c = from; c < to; c++) {
    sums.fill(0);
    for (let b = 0; b < n; b++) {
      const xBase = (b * cIn + c) * plane;
      // Rows of a few dozen floats: a loop, not a subarray view and set per row.
      for (let iy = r0; iy < r1; iy++) {
        const src = xBase + iy * inW - padLeft;
        const dst = (iy + padTop) * xw;
        if (stride === 1) {
          for (let j = c0 + padLeft; j < c1 + padLeft; j++) xs[dst + j] = x[src + j];
        } else {
          // Even padded columns, then odd ones: two strided loops, no per-value parity test.
          const j0 = c0 + padLeft, j1 = c1 + padLeft;
          for (let j = j0 + (j0 & 1); j < j1; j += 2) xs[dst + (j >> 1)] = x[src + j];
          for (let j = j0 + 1 - (j0 & 1), odd = dst + half; j < j1; j += 2) xs[odd + (j >> 1)] = x[src + j];
        }
      }
      const dyBase = (b * cIn + c) * hw;
      if (w4 === outW) {
        dys.set(dy.subarray(dyBase, dyBase + hw));
      } else {
        for (let oy = 0; oy < outH; oy++) for (let j = 0; j < outW; j++) dys[oy * w4 + j] = dy[dyBase + oy * outW + j];
      }
      run(xAt, dyAt, outH, w4 >> 2, 4 * xw, 4 * w4, sumsAt, 4 * xw * stride, 4 * half);
    }
    for (let t = 0; t < 9; t++) dw[c * 9 + t] = sums[2 * t] + sums[2 * t + 1];
  }
}
