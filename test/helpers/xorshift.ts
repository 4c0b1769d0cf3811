// Deterministic random inputs for the kernel suites that compare two paths bit for bit.

/** A small deterministic generator (xorshift32), values in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/** `size` values uniform in [-scale, scale). */
export function values(size: number, r: () => number, scale = 1): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (r() - 0.5) * 2 * scale;
  return out;
}
