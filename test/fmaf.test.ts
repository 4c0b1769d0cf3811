// expf.ts's fmaf (a float32 fused multiply-add computed in float64) against exact rational
// arithmetic in BigInt, rounded to float32 by hand: random triples, and triples built so that
// the float64 sum lands exactly halfway between two float32 values, the one case where
// rounding twice differs from rounding once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fmaf } from '../src/tensor/cpu/expf.ts';

/** A float32 as an integer times 2^-149 (every float32 is one). */
const units = (x: number) => BigInt(x * 2 ** 149);

/** n * 2^e rounded to the nearest float32, ties to even (no overflow in these cases). */
function roundToFloat32(n: bigint, e: number): number {
  if (n === 0n) return 0;
  const negative = n < 0n;
  const m = negative ? -n : n;
  const top = m.toString(2).length - 1 + e;
  const ulp = Math.max(top - 23, -149);
  const shift = ulp - e;
  let q: bigint;
  if (shift <= 0) q = m << BigInt(-shift);
  else {
    q = m >> BigInt(shift);
    const rest = m - (q << BigInt(shift));
    const half = 1n << BigInt(shift - 1);
    if (rest > half || (rest === half && (q & 1n) === 1n)) q += 1n;
  }
  const v = Number(q) * 2 ** ulp;
  return negative ? -v : v;
}

function exactFma(a: number, b: number, c: number): number {
  return roundToFloat32(units(a) * units(b) + (units(c) << 149n), -298);
}

test('fmaf rounds a * b + c once, as a fused multiply-add does, halfway cases included', () => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const f32 = (v: number) => Math.fround(v);
  const any = () => f32((rand() - 0.5) * 2 ** Math.floor(rand() * 40 - 20));
  let halfway = 0;
  const check = (a: number, b: number, c: number) => {
    const want = exactFma(a, b, c);
    const got = fmaf(a, b, c);
    assert.ok(Object.is(got, want), `fmaf(${a}, ${b}, ${c}) = ${got}, exact ${want}`);
  };
  for (let i = 0; i < 20000; i++) {
    const a = any(), b = any();
    check(a, b, any());
    check(a, b, f32(-a * b));
  }
  // (1 + k 2^-12)^2 has bits 2^-24 below float32 precision of 1: with c = +-2^-24 or a tiny c
  // the float64 sum sits at, or a rounding away from, a float32 halfway point.
  for (let k = 1; k <= 4096; k++) {
    const a = f32(1 + k * 2 ** -12);
    for (const c of [0, 2 ** -24, -(2 ** -24), 2 ** -60, -(2 ** -60), 2 ** -80, -(2 ** -80)]) {
      const s = a * a + c;
      const r = f32(s);
      if (s !== r && f32(r + 2 * (s - r)) === r + 2 * (s - r)) halfway++;
      check(a, a, c);
      check(-a, a, -c);
    }
  }
  assert.ok(halfway > 1000, `the constructed cases reach the halfway path (${halfway})`);
});
