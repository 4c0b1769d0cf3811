// The ceiling of WebAssembly's 128-bit SIMD on this CPU: f32x4 multiplies and adds with every
// operand in a register (twelve independent accumulators, so neither the adds' latency nor
// memory limits it). The GEMM alone and the nets' effective GFLOP/s are read against it: what
// they lose below it is the kernels', what it loses against native code (AVX2/AVX-512 FMA in
// onnxruntime-node and PyTorch) is WebAssembly's.
import { compileModule, instantiate, op, V128, type WasmFunction } from '../../src/tensor/cpu/wasm.ts';

const ACCUMULATORS = 12;

// peak(iterations): acc_k = acc_k + a * b for k < 12, `iterations` times; the sum of the
// accumulators is stored at address 0 so the work cannot be dropped.
function peakFunction(): WasmFunction {
  const [ITER, A, B, ACC] = [0, 1, 2, 3];
  const body = [...op.zero, ...op.set(A), ...op.zero, ...op.set(B), ...op.loop];
  for (let k = 0; k < ACCUMULATORS; k++) body.push(...op.get(ACC + k), ...op.get(A), ...op.get(B), ...op.fmul, ...op.fadd, ...op.set(ACC + k));
  body.push(...op.get(ITER), ...op.i32(1), ...op.sub, ...op.tee(ITER), ...op.brIf(0), ...op.end, ...op.i32(0));
  for (let k = 0; k < ACCUMULATORS; k++) body.push(...op.get(ACC + k), ...(k ? op.fadd : []));
  body.push(...op.store(0));
  return { name: 'peak', params: 1, locals: [[2 + ACCUMULATORS, V128]], body };
}

/** `iterations` rounds of the twelve multiply-adds and their FLOP count; null without WebAssembly SIMD. */
export function simdPeakRun(iterations: number): { run: () => void; flops: number } | null {
  const module = compileModule([peakFunction()]);
  if (!module) return null;
  const { exports } = instantiate<{ peak: (iterations: number) => void }>(module);
  return { run: () => exports.peak(iterations), flops: iterations * ACCUMULATORS * 8 };
}
