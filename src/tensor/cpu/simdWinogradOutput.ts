// The loops every Winograd output function runs (simdWinograd.ts for F(2x2, 3x3),
// simdWinogradF4.ts for F(4x4, 3x3)): per output channel its bias and PReLU slope, per panel of
// 4 tiles the GEMMs' products loaded, then the block's own transform and stores.
import { op } from './wasm.ts';

/**
 * The output functions' parameters, (m, stage, bias, alpha, act, rows, panels, setBytes, ldc,
 * half), and the i32 locals after them; their v128 locals start at V128_FIRST.
 */
export const OUT = { M: 0, STAGE: 1, BIAS: 2, ALPHA: 3, ACT: 4, ROWS: 5, PANELS: 6, SET: 7, LDC: 8, HALF: 9, R: 10, P: 11, Q: 12, MQ: 13, SQ: 14 } as const;
export const OUT_I32_LOCALS = 5;
export const V128_FIRST = 15;

/**
 * The body of an output function: for each of `rows` channels, for each panel, the `products`
 * vectors of the GEMMs' output (setBytes apart) into locals product(s), then `panel`, which
 * ends with the stores; the stage moves `blockRows` output rows (half bytes each) per channel.
 * bias and slope are the locals that hold the channel's bias and PReLU slope, splatted.
 */
export function outputLoops(products: number, product: (s: number) => number, bias: number, slope: number, blockRows: number, panel: number[]): number[] {
  const { M, STAGE, BIAS, ALPHA, ROWS, PANELS, SET, LDC, HALF, R, P, Q, MQ, SQ } = OUT;
  const body: number[] = [...op.get(M), ...op.set(MQ), ...op.get(STAGE), ...op.set(SQ), ...op.i32(0), ...op.set(R)];
  body.push(...op.loop); // rows
  body.push(...op.get(BIAS), ...op.loadSplat(0), ...op.set(bias), ...op.get(ALPHA), ...op.loadSplat(0), ...op.set(slope));
  body.push(...op.i32(0), ...op.set(P));
  body.push(...op.loop); // panels
  body.push(...op.get(MQ), ...op.get(P), ...op.i32(4), ...op.shl, ...op.add, ...op.set(Q));
  for (let s = 0; s < products; s++) {
    body.push(...op.get(Q), ...op.load(0), ...op.set(product(s)));
    if (s < products - 1) body.push(...op.get(Q), ...op.get(SET), ...op.add, ...op.set(Q));
  }
  body.push(...panel);
  body.push(...op.get(P), ...op.i32(1), ...op.add, ...op.tee(P), ...op.get(PANELS), ...op.ne, ...op.brIf(0), ...op.end);
  body.push(...op.get(MQ), ...op.get(LDC), ...op.add, ...op.set(MQ));
  body.push(...op.get(SQ), ...op.get(HALF), ...op.i32(blockRows), ...op.mul, ...op.add, ...op.set(SQ));
  body.push(...op.get(BIAS), ...op.i32(4), ...op.add, ...op.set(BIAS), ...op.get(ALPHA), ...op.i32(4), ...op.add, ...op.set(ALPHA));
  body.push(...op.get(R), ...op.i32(1), ...op.add, ...op.tee(R), ...op.get(ROWS), ...op.ne, ...op.brIf(0), ...op.end);
  return body;
}

/** With `act` set, y = max(y, 0) + slope * min(y, 0) for each local in `ys`, as the GEMM's epilogue does. */
export function activation(ys: number[], slope: number): number[] {
  const body: number[] = [...op.get(OUT.ACT), ...op.if];
  for (const y of ys) body.push(...op.get(y), ...op.zero, ...op.fmax, ...op.get(slope), ...op.get(y), ...op.zero, ...op.fmin, ...op.fmul, ...op.fadd, ...op.set(y));
  body.push(...op.end);
  return body;
}
