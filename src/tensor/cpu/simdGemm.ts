// The conv GEMM as a WebAssembly SIMD micro-kernel, assembled here from opcodes (wasm.ts; no
// binary is shipped, nothing native). Plain JavaScript has no vector instructions and no float32
// arithmetic, which caps the TypeScript kernel near 3 GFLOP/s on a core that can do 98; wasm
// SIMD gives four float32 lanes per instruction. The kernel reads the same packed layouts as
// the TypeScript GEMM (weights in blocks of 4 rows, im2col panels of 4 pixels), adds the bias
// and applies the activation; two gather kernels build the panels.

import { accumulator, gemmLoops, type GemmLocals, type PanelStrides } from './simdTile.ts';
import { compileModule, ensureBytes, I32, instantiate, op, V128, type WasmFunction } from './wasm.ts';
import { ResidentWeights } from './weightResidency.ts';

// gemm(a, b, c, k, blocks, panels, ldc, bias, alpha, act, bStep, bNext): byte offsets of the
// packed weights, the panels and the output tile, the reduction length, how many 4-row blocks
// and 4-pixel panels there are, the tile's row stride in bytes, byte offsets of per-row biases
// and slopes, whether to apply the slopes, and where B's values are: pixel lanes of reduction
// step k + 1 lie bStep bytes after step k's, the next panel bNext bytes after this one. Packed
// im2col panels: (16, 16 K). A 1x1 convolution reads its input planes directly: (4 * plane, 16).
const [A, B, C, K, BLOCKS, PANELS, LDC, BIAS, ALPHA, ACT, BSTEP, BNEXT] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
// i32 locals: simdTile's loop state, then this kernel's own (a block's rows, K * bStep).
const [MB, PB, AP, BQ, END, KB, CQ, ABLOCK, PBASE, ROWS, KBS] = [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22];
// v128 locals: simdTile's, then T (a row's bias or slope splatted).
const [B0, B1, AV, T] = [23, 24, 25, 26];
const LOCALS: GemmLocals = {
  a: A, b: B, c: C, k: K, blocks: BLOCKS, panels: PANELS, ldc: LDC,
  mb: MB, pb: PB, ap: AP, bq: BQ, end: END, kb: KB, cq: CQ, ablock: ABLOCK, pbase: PBASE,
  b0: B0, b1: B1, av: AV, acc: 27,
};
const STRIDES: PanelStrides = { step: op.get(BSTEP), next: op.get(BNEXT), span: op.get(KBS) };

/**
 * The conv's epilogue on a tile's accumulators: the bias, and with `act` the activation
 * max(y, 0) + alpha * min(y, 0): ReLU with alpha 0, PReLU otherwise, equal to the TypeScript
 * kernel's for every y including -0 (both give +0).
 */
function biasActivation(width: 1 | 2): number[] {
  const acc = (r: number, w: number) => accumulator(LOCALS, r, w);
  const code: number[] = [];
  for (let r = 0; r < 4; r++) {
    // ROWS: byte offset of this block's first row in bias and alpha.
    code.push(...op.get(BIAS), ...op.get(ROWS), ...op.add, ...op.loadSplat(r * 4), ...op.set(T));
    for (let w = 0; w < width; w++) code.push(...op.get(acc(r, w)), ...op.get(T), ...op.fadd, ...op.set(acc(r, w)));
  }
  code.push(...op.get(ACT), ...op.if);
  for (let r = 0; r < 4; r++) {
    code.push(...op.get(ALPHA), ...op.get(ROWS), ...op.add, ...op.loadSplat(r * 4), ...op.set(T));
    for (let w = 0; w < width; w++) {
      code.push(...op.get(acc(r, w)), ...op.zero, ...op.fmax, ...op.get(T), ...op.get(acc(r, w)), ...op.zero, ...op.fmin, ...op.fmul, ...op.fadd, ...op.set(acc(r, w)));
    }
  }
  code.push(...op.end);
  return code;
}

/**
 * gather(dst, src, table, k, count) for stride 1, gatherStride2 for stride 2: im2col of `count`
 * panels of 4 adjacent output pixels whose windows lie in one input row band. Tap i of a panel
 * is lanes src + table[i] + {0, 1, 2, 3} * stride floats, stored at dst + 16 i; the next panel
 * starts 4 pixels on (src + 16 * stride) and K * 16 bytes on in dst. Stride 2 loads 8 floats
 * and keeps the even ones (reading one float past the last lane: the arena leaves slack).
 */
function gatherFunction(stride: 1 | 2): WasmFunction {
  const [DST, SRC, TABLE, KK, COUNT, TP, TEND, D, P] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const lanes = stride === 1
    ? [...op.get(P), ...op.load(0)]
    : [...op.get(P), ...op.load(0), ...op.get(P), ...op.load(16), ...op.shuffle([0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27])];
  const body = [
    ...op.loop,
    ...op.get(TABLE), ...op.set(TP), ...op.get(TABLE), ...op.get(KK), ...op.i32(2), ...op.shl, ...op.add, ...op.set(TEND),
    ...op.get(DST), ...op.set(D),
    ...op.loop,
    ...op.get(SRC), ...op.get(TP), ...op.loadI32(0), ...op.add, ...op.set(P),
    ...op.get(D), ...lanes, ...op.store(0),
    ...op.get(D), ...op.i32(16), ...op.add, ...op.set(D),
    ...op.get(TP), ...op.i32(4), ...op.add, ...op.set(TP),
    ...op.get(TP), ...op.get(TEND), ...op.ne, ...op.brIf(0), ...op.end,
    ...op.get(D), ...op.set(DST),
    ...op.get(SRC), ...op.i32(16 * stride), ...op.add, ...op.set(SRC),
    ...op.get(COUNT), ...op.i32(1), ...op.sub, ...op.set(COUNT),
    ...op.get(COUNT), ...op.brIf(0), ...op.end,
  ];
  return { name: stride === 1 ? 'gather' : 'gatherStride2', params: 5, locals: [[P - TP + 1, I32]], body };
}

/**
 * gatherLanes(dst, a0, a1, a2, a3, table, k): one im2col panel whose four lanes are anywhere
 * (strided, or across an output row): tap i of lane l is the float at a_l + table[i].
 */
function gatherLanesBody(): WasmFunction {
  const [DST, , , , , TABLE, KK, TP, TEND, OFF] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const lane = (l: number) => [...op.get(1 + l), ...op.get(OFF), ...op.add, ...op.loadF32(0)];
  const body = [
    ...op.get(TABLE), ...op.set(TP), ...op.get(TABLE), ...op.get(KK), ...op.i32(2), ...op.shl, ...op.add, ...op.set(TEND),
    ...op.loop,
    ...op.get(TP), ...op.loadI32(0), ...op.set(OFF),
    ...op.get(DST),
    ...lane(0), ...op.splat, ...lane(1), ...op.replaceLane(1), ...lane(2), ...op.replaceLane(2), ...lane(3), ...op.replaceLane(3),
    ...op.store(0),
    ...op.get(DST), ...op.i32(16), ...op.add, ...op.set(DST),
    ...op.get(TP), ...op.i32(4), ...op.add, ...op.set(TP),
    ...op.get(TP), ...op.get(TEND), ...op.ne, ...op.brIf(0), ...op.end,
  ];
  return { name: 'gatherLanes', params: 7, locals: [[OFF - TP + 1, I32]], body };
}

function gemmFunction(fused: boolean): WasmFunction {
  const body: number[] = [
    ...op.get(K), ...op.get(BSTEP), ...op.mul, ...op.set(KBS),
    // ROWS: MB * 16 bytes into bias and alpha.
    ...gemmLoops(fused, LOCALS, STRIDES, { perBlock: [...op.get(MB), ...op.i32(4), ...op.shl, ...op.set(ROWS)], epilogue: biasActivation }),
  ];
  return { name: 'gemm', params: 12, locals: [[KBS - MB + 1, I32], [4 + 8, V128]], body };
}

const compiled = new Map<boolean, WebAssembly.Module | null>();

/**
 * The compiled kernels, or null where this engine has no WebAssembly SIMD. `fused`: the GEMM
 * with relaxed SIMD's f32x4.relaxed_madd (a fused multiply-add where the CPU has one; Node 20
 * needs --experimental-wasm-relaxed-simd before the first compile, allowRelaxedSimd). Opt-in
 * (CpuBackendOptions.fma): it rounds differently from the separate multiply and add, and
 * whether it fuses is up to the CPU, so results would differ between machines.
 */
function simdModule(fused = false): WebAssembly.Module | null {
  if (!compiled.has(fused)) compiled.set(fused, compileModule([gemmFunction(fused), gatherFunction(1), gatherFunction(2), gatherLanesBody()]));
  return compiled.get(fused)!;
}

export function simdGemmSupported(fused = false): boolean {
  return simdModule(fused) !== null;
}

/** Views of the regions of the kernel's memory for one conv, and its two kernels. */
export interface GemmArena {
  /** Where the GEMM reads the weights: filled by the caller unless gemmArena was given them (a resident copy must not be written). */
  weights: Float32Array;
  panels: Float32Array;
  tile: Float32Array;
  /** Per weight row: bias and slope. */
  bias: Float32Array;
  alpha: Float32Array;
  /** One batch item of the conv's input, for gather(). */
  input: Float32Array;
  /** Byte offsets of the K taps of a window, relative to its first: gather()'s table. */
  taps: Int32Array;
  /**
   * Tile row r, pixel j = tile[r * ldc + j] for the rows of `blocks` 4-row blocks from weight row
   * `row0` (bias and alpha are indexed from there too). `act`: apply alpha (ReLU: alpha = 0).
   * `into`: where tile[0] is, in floats from the tile's start (a tile laid out as the whole output).
   */
  run(row0: number, K: number, blocks: number, panels: number, ldc: number, act: boolean, into?: number): void;
  /** run() with B read straight from the input copy (a 1x1 conv): pixels [at, ...) of planes `plane` floats apart. */
  runDirect(row0: number, K: number, blocks: number, panels: number, ldc: number, act: boolean, at: number, plane: number, into?: number): void;
  /** im2col of `count` panels of stride 1 or 2 into panels[panel...], the first window at input[at]. */
  gather(stride: 1 | 2, panel: number, at: number, K: number, count: number): void;
  /** im2col of one panel whose lanes' windows start at input[a0], input[a1]... */
  gatherLanes(panel: number, a0: number, a1: number, a2: number, a3: number, K: number): void;
}

type Kernel = (...a: number[]) => void;
type Kernels = { gemm: Kernel; gather: Kernel; gatherStride2: Kernel; gatherLanes: Kernel };
const instances = new Map<boolean, { memory: WebAssembly.Memory; resident: ResidentWeights } & Kernels>();

/**
 * The kernel's memory laid out for one conv (each thread has its own instance and memory),
 * grown when a conv needs more. Sizes in floats; rows: weight rows, padded to blocks of 4.
 * `packed`: the conv's packed weights (from row 0), put in place here: kept resident where
 * `resident` says the array never changes (weightResidency.ts), else copied in.
 */
export function gemmArena(rows: number, K: number, panelFloats: number, tileFloats: number, inputFloats = 0, fused = false, packed?: Float32Array, resident = false): GemmArena {
  const module = simdModule(fused);
  if (!module) throw new Error(fused ? 'WebAssembly relaxed SIMD is not available' : 'WebAssembly SIMD is not available');
  let instance = instances.get(fused);
  if (!instance) {
    const { memory, exports } = instantiate<Kernels>(module);
    instance = { memory, resident: new ResidentWeights(memory), ...exports };
    instances.set(fused, instance);
  }
  const residentAt = packed && resident ? instance.resident.offsetOf(packed) : null;
  const weightFloats = rows * K;
  // Every region starts 16-byte aligned, after the resident weights.
  const align = (n: number) => Math.ceil(n / 4) * 4;
  const base = instance.resident.end;
  const weightsAt = residentAt ?? base;
  const panelsAt = base + (residentAt === null ? 4 * align(weightFloats) : 0);
  const tileAt = panelsAt + 4 * align(panelFloats);
  const biasAt = tileAt + 4 * align(tileFloats);
  const alphaAt = biasAt + 4 * align(rows);
  const tapsAt = alphaAt + 4 * align(rows);
  const inputAt = tapsAt + 4 * align(K);
  const bytes = inputAt + 4 * align(inputFloats) + 32;
  const { memory, gemm, gather, gatherStride2, gatherLanes } = instance;
  ensureBytes(memory, bytes);
  const weights = new Float32Array(memory.buffer, weightsAt, weightFloats);
  if (packed && residentAt === null) weights.set(packed);
  return {
    weights,
    panels: new Float32Array(memory.buffer, panelsAt, panelFloats),
    tile: new Float32Array(memory.buffer, tileAt, tileFloats),
    bias: new Float32Array(memory.buffer, biasAt, rows),
    alpha: new Float32Array(memory.buffer, alphaAt, rows),
    taps: new Int32Array(memory.buffer, tapsAt, K),
    input: new Float32Array(memory.buffer, inputAt, inputFloats),
    run: (row0, K, blocks, panels, ldc, act, into = 0) =>
      gemm(weightsAt + 4 * row0 * K, panelsAt, tileAt + 4 * into, K, blocks, panels, 4 * ldc, biasAt + 4 * row0, alphaAt + 4 * row0, act ? 1 : 0, 16, 16 * K),
    runDirect: (row0, K, blocks, panels, ldc, act, at, plane, into = 0) =>
      gemm(weightsAt + 4 * row0 * K, inputAt + 4 * at, tileAt + 4 * into, K, blocks, panels, 4 * ldc, biasAt + 4 * row0, alphaAt + 4 * row0, act ? 1 : 0, 4 * plane, 16),
    gather: (stride, panel, at, K, count) => (stride === 1 ? gather : gatherStride2)(panelsAt + panel * K * 16, inputAt + 4 * at, tapsAt, K, count),
    gatherLanes: (panel, a0, a1, a2, a3, K) =>
      gatherLanes(panelsAt + panel * K * 16, inputAt + 4 * a0, inputAt + 4 * a1, inputAt + 4 * a2, inputAt + 4 * a3, tapsAt, K),
  };
}
