// The register tile both WebAssembly SIMD GEMMs are built from (the conv GEMM of simdGemm.ts and
// the 16 Winograd products of simdWinograd.ts): 4 weight rows x 8 pixels of accumulators held in
// vector registers over the whole reduction, a 4-pixel tile for an odd last panel, and the loops
// over 4-row weight blocks and pixel panels around it. The two callers differ only in where the
// pixel lanes lie (their strides) and in what happens to the accumulators before they are stored
// (the conv adds its bias and activation; Winograd products are not outputs yet), so one
// generator emits the same instructions for both and a change to the tile reaches both.

import { op } from './wasm.ts';

/** Local indices, in the function the code goes into, of the GEMM's operands and loop state. */
export interface GemmLocals {
  /** Parameters: byte offsets of the packed weights, the first panel and the output tile. */
  a: number;
  b: number;
  c: number;
  /** Parameters: reduction length, 4-row weight blocks, 4-pixel panels, output row stride in bytes. */
  k: number;
  blocks: number;
  panels: number;
  ldc: number;
  /** i32 scratch: block and panel counters, weight and lane cursors, the reduction's end. */
  mb: number;
  pb: number;
  ap: number;
  bq: number;
  end: number;
  /** i32 scratch: a block's weight bytes (16 k), the block's output row, its weights, the panel. */
  kb: number;
  cq: number;
  ablock: number;
  pbase: number;
  /** v128 scratch: the two panels' lanes and one weight splatted. */
  b0: number;
  b1: number;
  av: number;
  /** The first of 8 consecutive v128 accumulators: row r, panel w at acc + 2 r + w. */
  acc: number;
}

/** Code that pushes an i32: a local's value or a constant. */
export type Operand = number[];

/** Where a panel's pixel lanes lie, as code pushing byte distances. */
export interface PanelStrides {
  /** From reduction step k's four lanes to step k + 1's. */
  step: Operand;
  /** From one panel's first lanes to the next panel's. */
  next: Operand;
  /** From a panel's first lanes to the end of its reduction (k * step). */
  span: Operand;
}

/** Accumulator of row r, panel w. */
export const accumulator = (l: GemmLocals, r: number, w: number): number => l.acc + r * 2 + w;

/**
 * One 4-row x (4 * width)-pixel tile at the current block and panel: zeroed accumulators, the
 * reduction (a splat weight times the panel lanes, multiply then add, or relaxed_madd when
 * `fused`), `epilogue` on the accumulators, the rows stored ldc bytes apart, then the cursors
 * moved to the next panel(s).
 */
export function tileCode(width: 1 | 2, fused: boolean, l: GemmLocals, s: PanelStrides, epilogue: (width: 1 | 2) => number[] = () => []): number[] {
  const acc = (r: number, w: number) => accumulator(l, r, w);
  const code: number[] = [];
  for (let r = 0; r < 4; r++) for (let w = 0; w < width; w++) code.push(...op.zero, ...op.set(acc(r, w)));
  code.push(...op.get(l.ablock), ...op.set(l.ap), ...op.get(l.pbase), ...op.set(l.bq), ...op.get(l.pbase), ...s.span, ...op.add, ...op.set(l.end));
  code.push(...op.loop);
  code.push(...op.get(l.bq), ...op.load(0), ...op.set(l.b0));
  if (width === 2) code.push(...op.get(l.bq), ...s.next, ...op.add, ...op.load(0), ...op.set(l.b1));
  for (let r = 0; r < 4; r++) {
    code.push(...op.get(l.ap), ...op.loadSplat(r * 4), ...op.set(l.av));
    for (let w = 0; w < width; w++) {
      const b = w ? l.b1 : l.b0;
      if (fused) code.push(...op.get(l.av), ...op.get(b), ...op.get(acc(r, w)), ...op.relaxedMadd, ...op.set(acc(r, w)));
      else code.push(...op.get(acc(r, w)), ...op.get(l.av), ...op.get(b), ...op.fmul, ...op.fadd, ...op.set(acc(r, w)));
    }
  }
  code.push(...op.get(l.ap), ...op.i32(16), ...op.add, ...op.set(l.ap));
  code.push(...op.get(l.bq), ...s.step, ...op.add, ...op.tee(l.bq), ...op.get(l.end), ...op.ne, ...op.brIf(0), ...op.end);
  code.push(...epilogue(width));
  // Row r of the block at cq + r * ldc.
  for (let r = 0; r < 4; r++) {
    for (let w = 0; w < width; w++) {
      code.push(...op.get(l.cq), ...(r ? [...op.get(l.ldc), ...op.i32(r), ...op.mul, ...op.add] : []), ...op.get(acc(r, w)), ...op.store(w * 16));
    }
  }
  code.push(...op.get(l.cq), ...op.i32(16 * width), ...op.add, ...op.set(l.cq));
  code.push(...op.get(l.pbase), ...s.next, ...(width === 2 ? [...s.next, ...op.add] : []), ...op.add, ...op.set(l.pbase));
  code.push(...op.get(l.pb), ...op.i32(width), ...op.add, ...op.set(l.pb));
  return code;
}

/**
 * The whole GEMM: for each 4-row block of weights (16 k bytes each), every panel two at a time
 * while two remain, then the odd one. `perBlock` runs at the start of each block (after cq is
 * set to its first output row). Leaves kb = 16 k set for strides that use it.
 */
export function gemmLoops(fused: boolean, l: GemmLocals, s: PanelStrides, options: { perBlock?: number[]; epilogue?: (width: 1 | 2) => number[] } = {}): number[] {
  return [
    ...op.get(l.k), ...op.i32(4), ...op.shl, ...op.set(l.kb),
    ...op.get(l.a), ...op.set(l.ablock),
    ...op.loop, // over blocks of 4 weight rows
    ...op.get(l.b), ...op.set(l.pbase), ...op.i32(0), ...op.set(l.pb),
    // cq: the block's first row, c + mb * 4 * ldc.
    ...op.get(l.c), ...op.get(l.mb), ...op.get(l.ldc), ...op.mul, ...op.i32(2), ...op.shl, ...op.add, ...op.set(l.cq),
    ...(options.perBlock ?? []),
    ...op.loop, // over panels
    ...op.get(l.pb), ...op.i32(1), ...op.add, ...op.get(l.panels), ...op.ltU,
    ...op.if, ...tileCode(2, fused, l, s, options.epilogue), ...op.else, ...tileCode(1, fused, l, s, options.epilogue), ...op.end,
    ...op.get(l.pb), ...op.get(l.panels), ...op.ltU, ...op.brIf(0), ...op.end,
    ...op.get(l.ablock), ...op.get(l.kb), ...op.add, ...op.set(l.ablock),
    ...op.get(l.mb), ...op.i32(1), ...op.add, ...op.tee(l.mb), ...op.get(l.blocks), ...op.ltU, ...op.brIf(0), ...op.end,
  ];
}
