// How every benchmark times a call: warm-up runs first, then each run's wall time; the median of them.

/** Runs `fn` `warmup` times, and on until `warmupMs` have passed. */
export async function warmUp(fn: () => Promise<unknown>, warmup: number, warmupMs = 0): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < warmup || performance.now() - t0 < warmupMs; i++) await fn();
}

/** Every timed run's ms, after `warmup` warm-up runs lasting at least `warmupMs`. */
export async function timed(fn: () => Promise<unknown>, warmup: number, runs: number, warmupMs = 0): Promise<number[]> {
  await warmUp(fn, warmup, warmupMs);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times;
}

/**
 * Warm-up runs before a net or pipeline is timed, for every engine alike: V8 runs WebAssembly
 * from its baseline compiler first and swaps in optimised code a few calls later, and a worker
 * thread is a fresh isolate whose code tiers up over its own first passes (P-Net 480x640 on 2
 * threads, pass by pass: 349, 106, 55, 61, 63, 38, 43, 50, 42, 39, 38 ms, .scratch timing).
 */
export const WARMUP = 8;

/**
 * ...and at least this long per engine, whichever comes later: two threads on one face hand
 * every op's share to a worker whose JavaScript tiers up over its first passes (nn4.small2 on
 * one face, pass by pass on a 2-core VM: 15-50 ms over the first 20 passes, then 9-10 ms from
 * about the 60th, against 12 ms on one thread), and 8 passes of a 12 ms net are 0.1 s.
 */
export const WARMUP_MS = 1500;

/** The middle value (the upper of the two middle ones for an even count). */
export function middle(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

/** The median ms of `runs` runs after `warmup` warm-up runs. */
export async function median(fn: () => Promise<unknown>, runs: number, warmup = 2): Promise<number> {
  return middle(await timed(fn, warmup, runs));
}

/**
 * Several engines timed in turns (run r of each, then run r + 1 of each, the order reversed
 * every other turn) after `warmup` runs of each: on a shared VM whose speed drifts from minute
 * to minute, the engines see the same drift, so their ratio holds where medians taken one
 * engine after another would not. Returns each engine's median ms, the median over turns of
 * the first engine's time over each engine's (the first's own is 1), and that median for any pair.
 * Each engine warms up for `warmup` runs and at least `warmupMs`.
 */
export async function interleaved(fns: (() => Promise<unknown>)[], runs: number, warmup: number, warmupMs = 0): Promise<{ ms: number[]; ratioToFirst: number[]; ratio: (a: number, b: number) => number }> {
  for (const fn of fns) await warmUp(fn, warmup, warmupMs);
  const times: number[][] = fns.map(() => []);
  for (let r = 0; r < runs; r++) {
    const order = fns.map((_, k) => k);
    if (r % 2) order.reverse();
    for (const k of order) {
      const t = performance.now();
      await fns[k]();
      times[k].push(performance.now() - t);
    }
  }
  // Engine a's time over engine b's, turn by turn, the median over turns.
  const ratio = (a: number, b: number) => middle(times[a].map((ms, r) => ms / times[b][r]));
  return { ms: times.map(middle), ratioToFirst: times.map((_, k) => ratio(0, k)), ratio };
}
