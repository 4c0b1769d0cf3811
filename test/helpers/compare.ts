import assert from 'node:assert/strict';
import type { Tensor } from '../../src/tensor/tensor.ts';

export interface Agreement {
  maxAbs: number;
  /** Max absolute error divided by the reference's absolute maximum. */
  maxRel: number;
  firstBad: number;
}

export function agreement(actual: ArrayLike<number>, expected: ArrayLike<number>, relTol = 1e-5): Agreement {
  let maxAbs = 0;
  let peak = 0;
  for (let i = 0; i < expected.length; i++) peak = Math.max(peak, Math.abs(expected[i]));
  const scale = peak || 1;
  let firstBad = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
    if (firstBad < 0 && !(d / scale <= relTol)) firstBad = i;
  }
  return { maxAbs, maxRel: maxAbs / scale, firstBad };
}

/**
 * Asserts shape equality and max error relative to the reference's absolute maximum, printing
 * the figures (and the first mismatching values) the way the brief asks for.
 */
export function assertClose(label: string, actual: Tensor, expected: Tensor, relTol = 1e-5, log = true): Agreement {
  assert.deepEqual([...actual.shape], [...expected.shape], `${label}: shape`);
  const a = agreement(actual.data, expected.data, relTol);
  if (log) console.log(`  ${label.padEnd(44)} max abs ${a.maxAbs.toExponential(2)}  max rel ${a.maxRel.toExponential(2)}`);
  if (a.firstBad >= 0) {
    const i = a.firstBad;
    assert.fail(`${label}: max rel error ${a.maxRel.toExponential(3)} > ${relTol}; first mismatch at ${i}: got ${actual.data[i]}, expected ${expected.data[i]}`);
  }
  return a;
}
