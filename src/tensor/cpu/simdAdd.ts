// Elementwise a + b on WebAssembly SIMD (MobileFaceNet's residual adds), a chunk at a time through
// the module's memory: two copies in, four sums per instruction, one copy out cost less than
// JavaScript's scalar loop, which converts each float to a double and back. A float32 sum is
// the same bits either way (the double sum of two floats rounds to the float32 sum).
import { compileModule, ensureBytes, I32, instantiate, op, type WasmFunction } from './wasm.ts';

// addRun(a, b, out, vectors): out = a + b over `vectors` vectors of 4 floats at byte offsets.
function addFunction(): WasmFunction {
  const [A, B, OUT, VECTORS, J] = [0, 1, 2, 3, 4];
  const body = [
    ...op.i32(0), ...op.set(J),
    ...op.loop,
    ...op.get(OUT), ...op.get(J), ...op.add,
    ...op.get(A), ...op.get(J), ...op.add, ...op.load(0),
    ...op.get(B), ...op.get(J), ...op.add, ...op.load(0),
    ...op.fadd, ...op.store(0),
    ...op.get(J), ...op.i32(16), ...op.add, ...op.set(J),
    ...op.get(VECTORS), ...op.i32(1), ...op.sub, ...op.tee(VECTORS), ...op.brIf(0), ...op.end,
  ];
  return { name: 'addRun', params: 4, locals: [[1, I32]], body };
}

let compiled: WebAssembly.Module | null | undefined;
let instance: { memory: WebAssembly.Memory; exports: { addRun: (...a: number[]) => void } } | null = null;

export function simdAddSupported(): boolean {
  if (compiled === undefined) compiled = compileModule([addFunction()]);
  return compiled !== null;
}

/** Floats per array copied in at a time: the chunk's three arrays stay in L2. */
const CHUNK = 1 << 14;

/** out = a + b, elementwise (equal lengths); the caller checks simdAddSupported. */
export function simdAdd(a: Float32Array, b: Float32Array, out: Float32Array): void {
  instance ??= instantiate(compiled!);
  const values = Math.min(CHUNK, Math.ceil(a.length / 4) * 4);
  ensureBytes(instance.memory, 12 * values);
  const buffer = instance.memory.buffer;
  const va = new Float32Array(buffer, 0, values);
  const vb = new Float32Array(buffer, 4 * values, values);
  const vo = new Float32Array(buffer, 8 * values, values);
  for (let i = 0; i < a.length; i += values) {
    const n = Math.min(values, a.length - i);
    va.set(a.subarray(i, i + n));
    vb.set(b.subarray(i, i + n));
    instance.exports.addRun(0, 4 * values, 8 * values, Math.ceil(n / 4));
    out.set(n === values ? vo : vo.subarray(0, n), i);
  }
}
