import { Tensor } from '../../src/tensor/tensor.ts';

/** Values in [-0.5, 0.5) from a fixed linear congruential sequence (also used in the page suite). */
export function seededValues(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

/** A tensor of seededValues. */
export function seeded(shape: readonly number[], seed: number): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return new Tensor(shape, seededValues(size, seed));
}
