// float32 exp as PyTorch's CPU kernels compute it (torch 1.13, AVX2: SLEEF's expf with 1-ulp
// accuracy, vectorised with fused multiply-adds), so softmax scores land on the same float32
// values as the reference's and tie where its scores tie. It is not correctly rounded: on
// exp over [-30, 0] about 9% of results are one ulp from fl32(Math.exp(x)) (measured against
// torch.exp by test/ties.test.ts's fixtures).
//
// The algorithm is the textbook one: x = q ln2 + s with ln2 split in two parts (Cody-Waite),
// a degree-7 polynomial for e^s evaluated by Horner's rule in fused multiply-adds, then a scale
// by 2^q in two steps so that subnormal results round as the reference's do.

const f = Math.fround;
const LN2_HI = f(0.693145751953125);
const LN2_LO = f(1.428606765330187045e-6);
const INV_LN2 = f(1.4426950408889634);
const [C0, C1, C2, C3, C4, C5] = [1.98527617612853646278381e-4, 1.39304355252534151077271e-3, 8.33336077630519866943359e-3, 4.16664853692054748535156e-2, 1.66666671633720397949219e-1, 0.5].map(f);

/**
 * a * b + c rounded once to float32. The product of two float32 values is exact in float64;
 * the sum is rounded to float64 first, and a second rounding can only differ from a single one
 * when the float64 result sits exactly halfway between two float32 values. That is rare, and
 * cheap to rule out: s halfway between r and its neighbour means r + 2 (s - r) is that
 * neighbour, a float32; otherwise r + 2 (s - r) lies strictly between two float32 values.
 */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = f(s);
  const h = s - r;
  if (h === 0) return r;
  const t = r + 2 * h;
  if (f(t) !== t) return r;
  return fmafHalfway(p, c, s, r);
}

/** fmaf's rare case: decided by the exact rounding error of p + c. */
function fmafHalfway(p: number, c: number, s: number, r: number): number {
  const other = s > r ? nextUp32(r) : nextDown32(r);
  if (s - r !== other - s) return r;
  const bv = s - p;
  const err = (p - (s - bv)) + (c - bv); // exact: p + c = s + err
  if (err === 0) return r;
  return (err > 0) === (other > r) ? other : r;
}

const scratch = new Float32Array(1);
const bits = new Int32Array(scratch.buffer);
function nextUp32(x: number): number {
  scratch[0] = x;
  bits[0] += x >= 0 ? 1 : -1;
  return scratch[0];
}
function nextDown32(x: number): number {
  scratch[0] = x;
  bits[0] += x > 0 ? -1 : 1;
  return scratch[0];
}

/** 2^k for the exponents the scale step uses (|k| <= 80), looked up instead of computed. */
const POW2 = new Float64Array(161).map((_, i) => 2 ** (i - 80));

/** e^x for a float32 x, bit-identical to torch 1.13's vectorised float32 exp. */
export function expf(x: number): number {
  if (x !== x) return NaN;
  if (x < -104) return 0;
  if (x > 100) return Infinity;
  const q = roundHalfEven(f(x * INV_LN2));
  let s = fmaf(q, -LN2_HI, x);
  s = fmaf(q, -LN2_LO, s);
  let u = fmaf(C0, s, C1);
  u = fmaf(u, s, C2);
  u = fmaf(u, s, C3);
  u = fmaf(u, s, C4);
  u = fmaf(u, s, C5);
  u = f(1 + fmaf(f(s * s), u, s));
  // 2^q as two factors, each a normal float32, exactly as the reference scales
  const half = q >> 1;
  return f(f(u * POW2[half + 80]) * POW2[q - half + 80]);
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}
