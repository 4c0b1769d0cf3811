// The browser bench's cases, shared by the Node driver and the page: the names of `npm run bench`,
// and what input and how many runs each engine gets. GL and WebGPU engines on SwiftShader run a
// CPU emulation of the GPU, minutes per full batch, so they take smaller inputs; tsface and tf.js
// on the same renderer always get the same input, which keeps their ratio meaningful.

import { WARMUP, WARMUP_MS } from '../timing.ts';

export type NetName = 'pnet' | 'rnet' | 'onet' | 'nn4small2' | 'mobilefacenet';

export interface NetCase {
  name: string;
  net: NetName;
  /** NCHW input of the Node bench; slow engines get a cut one, see planFor. */
  input: [number, number, number, number];
}

export interface DetectCase {
  name: string;
  url: string;
}

export const NET_CASES: NetCase[] = [
  { name: 'pnet-480x640', net: 'pnet', input: [1, 3, 480, 640] },
  { name: 'rnet-b256', net: 'rnet', input: [256, 3, 24, 24] },
  { name: 'onet-b64', net: 'onet', input: [64, 3, 48, 48] },
  { name: 'nn4small2-b32', net: 'nn4small2', input: [32, 3, 96, 96] },
  { name: 'mobilefacenet-b32', net: 'mobilefacenet', input: [32, 3, 112, 112] },
  { name: 'nn4small2-b1', net: 'nn4small2', input: [1, 3, 96, 96] },
  { name: 'mobilefacenet-b1', net: 'mobilefacenet', input: [1, 3, 112, 112] },
];

export const DETECT_CASES: DetectCase[] = [{ name: 'detect-multiface', url: '/shared/images/multiface.jpg' }];

export interface Plan {
  /** NCHW input actually timed: the case's, or a cut one (fewer items, or a smaller P-Net image). */
  input: [number, number, number, number];
  warmup: number;
  /** The warm-up lasts at least this long too (timing.ts WARMUP_MS). */
  warmupMs: number;
  runs: number;
}

/**
 * What a slow engine gets per case, full and quick: GPU-kind engines on an emulated renderer, and
 * gpu.js's webasm mode (a CPU mode, but per item about 20 times the CPU backend's time).
 */
const SLOW_INPUT: Record<string, [number[], number[]]> = {
  'pnet-480x640': [[1, 3, 240, 320], [1, 3, 120, 160]],
  'rnet-b256': [[16, 3, 24, 24], [8, 3, 24, 24]],
  'onet-b64': [[4, 3, 48, 48], [2, 3, 48, 48]],
  'nn4small2-b32': [[1, 3, 96, 96], [1, 3, 96, 96]],
  'mobilefacenet-b32': [[1, 3, 112, 112], [1, 3, 112, 112]],
  'nn4small2-b1': [[1, 3, 96, 96], [1, 3, 96, 96]],
  'mobilefacenet-b1': [[1, 3, 112, 112], [1, 3, 112, 112]],
};

const QUICK_INPUT: Record<string, number[]> = {
  'rnet-b256': [64, 3, 24, 24],
  'onet-b64': [16, 3, 48, 48],
  'nn4small2-b32': [4, 3, 96, 96],
  'mobilefacenet-b32': [4, 3, 112, 112],
};

/**
 * The least warm-up of a net case in the page and in Node beside it: timing.ts WARMUP_MS, twice,
 * since a page's two-thread engine also waits for its module worker to load (in the runs
 * measured, its first ~50 passes of MobileFaceNet on one face ran with the worker not yet
 * serving).
 */
const PAGE_WARMUP_MS = 2 * WARMUP_MS;

/**
 * The input and runs of one case on one engine. tsface and tf.js on the same renderer always get
 * the same plan, so their ratio compares like with like.
 */
export function planFor(c: NetCase, slow: boolean, quick: boolean): Plan {
  const cut = slow ? SLOW_INPUT[c.name]?.[quick ? 1 : 0] : quick ? QUICK_INPUT[c.name] : undefined;
  // A slow engine's one warm-up builds its kernels, shader programs and plans (each pass takes
  // seconds to minutes). The others warm up as `npm run bench` does (WARMUP passes): a Web
  // Worker is a fresh isolate whose code tiers up over its own first passes, and after one
  // warm-up the two-thread CPU engine still ran its workers cold (R-Net b256 at 2 threads: 35 ms
  // after one warm-up, 22 after six; 26 at one thread). The median of 5 (slow engines 3, quick 1)
  // follows: on a shared 2-core VM the median of 3 still moved page / Node ratios by 1.5x between runs.
  // The warm-up also lasts at least PAGE_WARMUP_MS.
  return { input: (cut ?? c.input) as Plan['input'], warmup: slow ? 1 : quick ? 2 : WARMUP, warmupMs: slow || quick ? 0 : PAGE_WARMUP_MS, runs: quick ? 1 : slow ? 3 : 5 };
}
