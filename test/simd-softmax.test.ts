// The WebAssembly SIMD two-channel softmax (simdSoftmax.ts) against the TypeScript definition
// (softmaxChannelsScalar, expf.ts's expf), bit for bit with Object.is:
//  - the kernel's exp on a sweep of the float32 differences in [-104, 0] (every 64th bit
//    pattern, 17.5 million values; TSFACE_EXHAUSTIVE=1: every one of the 1.12 billion), where
//    each value the kernel does not flag for the scalar code must equal expf's;
//    (The exhaustive sweep, run once: of 1,120,927,745 differences 136 sit in flagged vectors
//    (34 vectors of 4), and on none of them does the kernel's own double rounding differ from
//    expf: on this range the flag is a safeguard, not a correction the results rely on.)
//  - softmaxChannels end to end on the values the kernel flags (float64 sums exactly halfway
//    between two float32 values, whose positions the scalar code recomputes), a sparser sweep,
//    subnormal results, infinities, NaN, signed zeros;
//  - random maps of 1, 2, 3, 5 and 10 channels, plane sizes odd and across the kernel's chunks,
//    both modes (map and rows), whole and split into [from, to) ranges as threads split them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expf } from '../src/tensor/cpu/expf.ts';
import { softmaxChannels, softmaxChannelsScalar } from '../src/tensor/cpu/pointwise.ts';
import { simdExpDifferences, simdSoftmaxSupported } from '../src/tensor/cpu/simdSoftmax.ts';

const simd = simdSoftmaxSupported();
const exhaustive = process.env.TSFACE_EXHAUSTIVE === '1';

/** -0 through -104 as float32 bit patterns (negative floats order by their bits). */
const FIRST = 0x80000000;
const LAST = 0xc2d00000; // -104
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const fromBits = (b: number) => { u32[0] = b; return f32[0]; };
assert.equal(fromBits(LAST), -104);

/**
 * The vectors of four consecutive float32 differences (first bit pattern given) that raise the
 * kernel's halfway flag: all 34 of [-104, 0], found by the exhaustive sweep.
 */
const FLAGGED = [
  0xb3800000, 0xbdc80000, 0xbe4ce664, 0xbe983c00, 0xbea4b000, 0xbeb31514, 0xbebfc26c, 0xbee2e430,
  0xbeeac030, 0xbf4a7218, 0xbf7d9018, 0xbf81e50c, 0xbf857e50, 0xbf917218, 0xbf936918, 0xbfd78118,
  0xbfda9e18, 0xbfde375c, 0xbfea2b24, 0xbfec2224, 0xc0181d10, 0xc019ab90, 0xc0447998, 0xc0460818,
  0xc070d61c, 0xc072649c, 0xc08e9950, 0xc08f6090, 0xc0a4c794, 0xc0a58ed4, 0xc1d9dcd8, 0xc1f00b1c,
  0xc22a86e8, 0xc240b52c,
];

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function assertSame(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) assert.fail(`${what}: element ${i} is ${got[i]}, the TypeScript path gives ${want[i]}`);
  }
}

/** softmaxChannels against softmaxChannelsScalar, whole and in [from, to) pieces (fresh outputs, garbage-filled). */
function check(x: Float32Array, n: number, c: number, plane: number, rows: boolean, what: string, pieces: number[] = []): void {
  const want = new Float32Array(x.length).fill(NaN);
  softmaxChannelsScalar(x, n, c, plane, want, rows);
  const got = new Float32Array(x.length).fill(-7);
  softmaxChannels(x, n, c, plane, got, rows);
  assertSame(got, want, `${what} (c ${c}, plane ${plane}, ${rows ? 'rows' : 'map'})`);
  if (pieces.length) {
    const split = new Float32Array(x.length).fill(-7);
    const cuts = [0, ...pieces.filter((p) => p > 0 && p < n * plane).sort((a, b) => a - b), n * plane];
    for (let i = 0; i + 1 < cuts.length; i++) softmaxChannels(x, n, c, plane, split, rows, cuts[i], cuts[i + 1]);
    assertSame(split, want, `${what} split at ${pieces} (c ${c}, plane ${plane})`);
  }
}

/** Two-channel maps [1, 2, len] from the differences d: channel 0 at 0 and channel 1 at d, then swapped. */
function checkDifferences(d: Float32Array, what: string): void {
  for (const rows of [false, true]) {
    for (const swap of [false, true]) {
      const x = new Float32Array(2 * d.length);
      x.set(d, swap ? 0 : d.length);
      check(x, 1, 2, d.length, rows, `${what}${swap ? ', swapped' : ''}`);
    }
  }
}

test('the SIMD exp equals expf on float32 differences in [-104, 0] wherever it does not hand the value to the scalar code', { skip: !simd && 'no WebAssembly SIMD' }, () => {
  const stride = exhaustive ? 1 : 64;
  const block = 1 << 20;
  const d = new Float32Array(block);
  const e = new Float32Array(block);
  let values = 0;
  let flaggedCount = 0;
  for (let bits = FIRST; bits <= LAST;) {
    let len = 0;
    for (; len < block && bits <= LAST; len++, bits += stride) d[len] = fromBits(bits);
    const dd = d.subarray(0, len);
    const ee = e.subarray(0, len);
    const flagged = new Set(simdExpDifferences(dd, ee));
    for (let i = 0; i < len; i++) {
      if (flagged.has(i)) continue;
      const want = expf(dd[i]);
      if (!Object.is(ee[i], want)) assert.fail(`exp(${dd[i]}) is ${ee[i]} in SIMD, ${want} in expf`);
    }
    flaggedCount += flagged.size;
    values += len;
  }
  // Each flag costs a scalar recomputation of four positions: they must stay rare.
  assert.ok(flaggedCount < values / 1000, `${flaggedCount} of ${values} values flagged`);
  // The kernel still flags the halfway sums it knows of, and the softmax recomputes them (with
  // their neighbours, at shifting lanes) in the scalar code.
  const prone = Float32Array.from(FLAGGED.flatMap((b) => [0, 1, 2, 3].map((i) => fromBits(b + i))));
  assert.equal(simdExpDifferences(prone, new Float32Array(prone.length)).length, prone.length, 'every halfway-prone vector flagged');
  const shifted: number[] = [];
  for (const b of FLAGGED) for (let i = -5; i < 9; i++) shifted.push(fromBits(b + i));
  checkDifferences(Float32Array.from(shifted), 'halfway-prone differences');
});

test('SIMD softmax equals the TypeScript softmax on a sweep of differences, subnormal results and specials', { skip: !simd && 'no WebAssembly SIMD' }, () => {
  const sweep: number[] = [];
  for (let bits = FIRST; bits <= LAST; bits += 1021) sweep.push(fromBits(bits));
  checkDifferences(Float32Array.from(sweep), 'sweep');
  // exp(d) subnormal for d in about [-103.97, -87.34]: every float32 in a few stretches of it
  const sub: number[] = [];
  for (const start of [-87.4, -95, -100, -103.3, -103.98]) {
    u32[0] = 0; f32[0] = start;
    for (let b = u32[0], k = 0; k < 200_000; k++, b++) sub.push(fromBits(b));
  }
  for (let b = LAST - 5000; b <= LAST + 5000; b++) sub.push(fromBits(b)); // around -104, both sides
  checkDifferences(Float32Array.from(sub), 'subnormal results');
  const specials = [NaN, -Infinity, Infinity, -0, 0, -1e-45, -1.1754942e-38, -1e-30, -104.00001, -105, -3.4e38];
  checkDifferences(Float32Array.from(specials), 'specials');
  // All pairs of notable logits, as the two channels.
  const logits = [NaN, -Infinity, Infinity, -0, 0, 1e-45, -1e-45, 1, -1, 3.4e38, -3.4e38, 88.7, -88.7, 104, -104, 0.5, 17.25];
  const x = new Float32Array(2 * logits.length ** 2);
  const plane = logits.length ** 2;
  logits.forEach((a, i) => logits.forEach((b, j) => { x[i * logits.length + j] = a; x[plane + i * logits.length + j] = b; }));
  for (const rows of [false, true]) check(x, 1, 2, plane, rows, 'pairs of special logits');
});

test('SIMD softmax equals the TypeScript softmax on random maps of any channel count, whole and split into ranges', () => {
  const rnd = random(2024);
  const specials = [NaN, -Infinity, Infinity, -0, 0];
  for (const c of [1, 2, 3, 5, 10]) {
    for (const plane of [1, 3, 7, 15, 16, 17, 33, 101, 235, 2047, 2049, 4099]) {
      for (const n of [1, 2, 3]) {
        for (const rows of [false, true]) {
          const x = new Float32Array(n * c * plane);
          const spread = [0.01, 1, 8, 60, 200][Math.floor(rnd() * 5)];
          for (let i = 0; i < x.length; i++) {
            const r = rnd();
            x[i] = r < 0.01 ? specials[Math.floor(rnd() * specials.length)] : r < 0.05 ? Math.round(rnd() * 4) : (rnd() - 0.5) * spread;
          }
          const total = n * plane;
          const pieces = [Math.floor(rnd() * total), Math.floor(rnd() * total), Math.floor(total / 2), plane];
          check(x, n, c, plane, rows, 'random map', pieces);
        }
      }
    }
  }
});
