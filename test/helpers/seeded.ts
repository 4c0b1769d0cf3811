import { Tensor } from '../../src/tensor/tensor.ts';

/** A tensor of values in [-0.5, 0.5) from a fixed linear congruential sequence. */
export function seeded(shape: readonly number[], seed: number): Tensor {
  const x = new Tensor(shape);
  let s = seed;
  for (let i = 0; i < x.size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x.data[i] = s / 2 ** 32 - 0.5;
  }
  return x;
}
