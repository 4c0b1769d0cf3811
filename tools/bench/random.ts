import { Tensor } from '../../src/tensor/tensor.ts';

/**
 * Values in [-0.5, 0.5) from a fixed sequence: the single-op cases' inputs and weights, and the
 * GEMM-alone case's. The net cases take real photos instead (realInputs.ts): some kernels' speed
 * depends on the values, and a net's activations on real input are not uniform noise.
 */
export function random(shape: readonly number[], seed: number): Tensor {
  const t = new Tensor(shape);
  let s = seed >>> 0;
  for (let i = 0; i < t.size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    t.data[i] = s / 2 ** 32 - 0.5;
  }
  return t;
}
