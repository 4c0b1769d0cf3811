// Mutations of a seed, drawn from a seeded generator so a run can be repeated exactly.

/** xorshift32: small, fast and good enough to pick mutations. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed >>> 0) || 0x9e3779b9;
  }
  next(): number {
    let s = this.s;
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    this.s = s >>> 0;
    return this.s;
  }
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
}

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x2c, 0x7b, 0x22, 0x30, 0x39];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 50_000_000, 7071, 65535, 0x100];
const TOKENS = ['null', 'true', '-1', '0', '1e309', 'NaN', '"x"', '[]', '{}', '..', '/', '../../etc/passwd', '\u0000', ',', ':', '"shape"', "'shape': (", '1.5', '99999999999'];

/** One to four random edits of `input`, optionally splicing in part of `other`. */
export function mutate(input: Uint8Array, other: Uint8Array, rng: Rng): Uint8Array {
  let b = Uint8Array.from(input);
  const edits = 1 + rng.below(4);
  for (let e = 0; e < edits; e++) {
    const at = rng.below(b.length + 1);
    switch (rng.below(9)) {
      case 0: if (b.length) b[rng.below(b.length)] ^= 1 << rng.below(8); break;
      case 1: if (b.length) b[rng.below(b.length)] = INTERESTING_8[rng.below(INTERESTING_8.length)]; break;
      case 2: if (b.length >= 4) {
        const v = INTERESTING_32[rng.below(INTERESTING_32.length)];
        const p = rng.below(b.length - 3);
        const big = rng.below(2) === 0;
        for (let k = 0; k < 4; k++) b[p + k] = (v >>> (8 * (big ? 3 - k : k))) & 255;
      } break;
      case 3: b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(Math.min(b.length, at + 1 + rng.below(16)))]); break;
      case 4: b = b.subarray(0, at); break; // truncate
      case 5: { // duplicate a range
        const len = 1 + rng.below(64);
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at, at + len), ...b.subarray(at)]);
        break;
      }
      case 6: { // splice from the other seed
        const from = rng.below(other.length);
        b = Uint8Array.from([...b.subarray(0, at), ...other.subarray(from, from + 1 + rng.below(48)), ...b.subarray(at + rng.below(16))]);
        break;
      }
      case 7: { // a token, for the text formats
        const t = new TextEncoder().encode(TOKENS[rng.below(TOKENS.length)]);
        b = Uint8Array.from([...b.subarray(0, at), ...t, ...b.subarray(at + rng.below(4))]);
        break;
      }
      default: if (b.length) b[rng.below(b.length)] = rng.below(256);
    }
  }
  return b;
}
