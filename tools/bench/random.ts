import { Tensor } from '../../src/tensor/tensor.ts';

/** Bench inputs and stand-in weights: values in [-0.5, 0.5) from a fixed sequence (speed does not depend on them). */
export function random(shape: readonly number[], seed: number): Tensor {
  const t = new Tensor(shape);
  let s = seed >>> 0;
  for (let i = 0; i < t.size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    t.data[i] = s / 2 ** 32 - 0.5;
  }
  return t;
}
