// A seeded generator whose whole state is four 32-bit words (xoshiro128**, Blackman and Vigna
// 2018), so a checkpoint can store it and a resumed run draws exactly the numbers the killed run
// would have drawn. Math.random cannot be seeded or saved.
import { ArgumentError } from '../errors.ts';

export type RandomState = [number, number, number, number];

export class Random {
  private s: Uint32Array;

  constructor(seed: number | RandomState) {
    this.s = new Uint32Array(4);
    if (Array.isArray(seed)) {
      if (seed.length !== 4 || !seed.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) || seed.every((w) => w === 0)) {
        throw new ArgumentError(`random state must be four 32-bit words, not all zero; got ${JSON.stringify(seed)}`);
      }
      this.s.set(seed);
      return;
    }
    if (!Number.isSafeInteger(seed)) throw new ArgumentError(`seed must be an integer, got ${seed}`);
    // splitmix32 spreads a small seed (0, 1, 2...) over all four words; an all-zero state would stick at zero.
    let z = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b) >>> 0;
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (t ^ (t >>> 16)) >>> 0;
    }
    if (this.s.every((w) => w === 0)) this.s[0] = 1;
  }

  /** Continues from a state saved by state(). */
  restore(state: RandomState): void {
    this.s.set(new Random(state).s);
  }

  state(): RandomState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 0x100000000;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(Number.isInteger(n) && n >= 1)) throw new ArgumentError(`Random.int needs a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Fisher-Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
