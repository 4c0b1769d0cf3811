// The WebAssembly SIMD kernels of the Winograd F(2x2, 3x3) conv (geometry and weights in
// winograd.ts; F(4x4, 3x3)'s transforms in simdWinogradF4.ts) and the task loop around both:
// per task a strip of input rows copied in, the input transform written straight into 16 (or
// 36) sets of GEMM panels, as many GEMMs per block of output rows, the output transform with
// bias and activation, rows copied out.
import type { ConvPlan } from './convPlan.ts';
import { copyFloats } from './copy.ts';
import { gemmLoops, type GemmLocals } from './simdTile.ts';
import { ResidentWeights } from './weightResidency.ts';
import { input4Function, lanes, output4Function, ZIP_HI, ZIP_LO } from './simdWinogradF4.ts';
import { activation, OUT, OUT_I32_LOCALS, outputLoops, V128_FIRST } from './simdWinogradOutput.ts';
import { winogradGeometry, winogradProducts, type WinogradGeometry } from './winograd.ts';
import { compileModule, ensureBytes, I32, instantiate, op, V128, type WasmFunction } from './wasm.ts';

// Byte shuffles: even and odd lanes of two vectors (the interleaving ones are simdWinogradF4.ts's).
const EVEN = lanes(0, 2, 4, 6);
const ODD = lanes(1, 3, 5, 7);

/**
 * input(dst, src, rowBytes, channels, panels, setBytes, panelBytes): V = B^T d B for `panels`
 * panels of 4 tiles. Tile l of panel p reads columns 8p + 2l ... + 3 of a channel's 4 strip
 * rows (rowBytes apart, channels 4 rows apart): loads at 8p and 8p + 4 give columns 0 and 1 of
 * the 4 tiles as their even and odd lanes, loads at 8p + 2 and 8p + 6 columns 2 and 3. Product
 * s of channel c, panel p goes to dst + s * setBytes + p * panelBytes + 16 c: the GEMM's panel.
 */
function inputFunction(): WasmFunction {
  const [DST, SRC, ROW, CH, PANELS, SET, PANEL] = [0, 1, 2, 3, 4, 5, 6];
  const [P, C, SP, DP, Q, SPP, DPP] = [7, 8, 9, 10, 11, 12, 13];
  const [LA, LB, LC, LD] = [14, 15, 16, 17];
  const D = (k: number) => 18 + k;
  const TT = (r: number, k: number) => 22 + r * 4 + k;
  const body: number[] = [...op.get(SRC), ...op.set(SPP), ...op.get(DST), ...op.set(DPP), ...op.i32(0), ...op.set(P)];
  body.push(...op.loop); // panels
  body.push(...op.get(SPP), ...op.set(SP), ...op.get(DPP), ...op.set(DP), ...op.i32(0), ...op.set(C));
  body.push(...op.loop); // channels
  for (let r = 0; r < 4; r++) {
    // Q: this row's first column.
    body.push(...op.get(SP), ...(r ? [...op.get(ROW), ...op.i32(r), ...op.mul, ...op.add] : []), ...op.set(Q));
    body.push(...op.get(Q), ...op.load(0), ...op.set(LA), ...op.get(Q), ...op.load(16), ...op.set(LB));
    body.push(...op.get(Q), ...op.load(8), ...op.set(LC), ...op.get(Q), ...op.load(24), ...op.set(LD));
    body.push(...op.get(LA), ...op.get(LB), ...op.shuffle(EVEN), ...op.set(D(0)));
    body.push(...op.get(LA), ...op.get(LB), ...op.shuffle(ODD), ...op.set(D(1)));
    body.push(...op.get(LC), ...op.get(LD), ...op.shuffle(EVEN), ...op.set(D(2)));
    body.push(...op.get(LC), ...op.get(LD), ...op.shuffle(ODD), ...op.set(D(3)));
    // d B along the row: d0 - d2, d1 + d2, d2 - d1, d1 - d3.
    body.push(...op.get(D(0)), ...op.get(D(2)), ...op.fsub, ...op.set(TT(r, 0)));
    body.push(...op.get(D(1)), ...op.get(D(2)), ...op.fadd, ...op.set(TT(r, 1)));
    body.push(...op.get(D(2)), ...op.get(D(1)), ...op.fsub, ...op.set(TT(r, 2)));
    body.push(...op.get(D(1)), ...op.get(D(3)), ...op.fsub, ...op.set(TT(r, 3)));
  }
  // B^T (d B) down the columns, stored in order s = 0..15, setBytes apart.
  body.push(...op.get(DP), ...op.set(Q));
  const combos: [number, number, number[]][] = [[0, 2, op.fsub], [1, 2, op.fadd], [2, 1, op.fsub], [1, 3, op.fsub]];
  for (const [a, b, f] of combos) {
    for (let k = 0; k < 4; k++) {
      body.push(...op.get(Q), ...op.get(TT(a, k)), ...op.get(TT(b, k)), ...f, ...op.store(0));
      body.push(...op.get(Q), ...op.get(SET), ...op.add, ...op.set(Q));
    }
  }
  body.push(...op.get(SP), ...op.get(ROW), ...op.i32(2), ...op.shl, ...op.add, ...op.set(SP));
  body.push(...op.get(DP), ...op.i32(16), ...op.add, ...op.set(DP));
  body.push(...op.get(C), ...op.i32(1), ...op.add, ...op.tee(C), ...op.get(CH), ...op.ne, ...op.brIf(0), ...op.end);
  body.push(...op.get(SPP), ...op.i32(32), ...op.add, ...op.set(SPP));
  body.push(...op.get(DPP), ...op.get(PANEL), ...op.add, ...op.set(DPP));
  body.push(...op.get(P), ...op.i32(1), ...op.add, ...op.tee(P), ...op.get(PANELS), ...op.ne, ...op.brIf(0), ...op.end);
  return { name: 'input', params: 7, locals: [[DPP - P + 1, I32], [4 + 4 + 16, V128]], body };
}

/**
 * gemm(a, b, c, k, blocks, panels, ldc): the conv GEMM of simdGemm.ts (simdTile's tile) without
 * its epilogue (the Winograd products are not outputs yet); weights in blocks of 4 rows (16 k
 * bytes each), panels 16 k bytes apart with consecutive reduction steps 16 bytes apart, C
 * row-major with ldc bytes per row.
 */
function gemmFunction(fused: boolean): WasmFunction {
  const [A, B, C, K, BLOCKS, PANELS, LDC] = [0, 1, 2, 3, 4, 5, 6];
  const [MB, PB, AP, BQ, END, KB, CQ, ABLOCK, PBASE] = [7, 8, 9, 10, 11, 12, 13, 14, 15];
  const [B0, B1, AV] = [16, 17, 18];
  const locals: GemmLocals = {
    a: A, b: B, c: C, k: K, blocks: BLOCKS, panels: PANELS, ldc: LDC,
    mb: MB, pb: PB, ap: AP, bq: BQ, end: END, kb: KB, cq: CQ, ablock: ABLOCK, pbase: PBASE,
    b0: B0, b1: B1, av: AV, acc: 19,
  };
  const body = gemmLoops(fused, locals, { step: op.i32(16), next: op.get(KB), span: op.get(KB) });
  return { name: 'gemm', params: 7, locals: [[PBASE - MB + 1, I32], [3 + 8, V128]], body };
}

/**
 * output(m, stage, bias, alpha, act, rows, panels, setBytes, ldc, half): y = A^T M A for
 * `rows` output channels x `panels` panels of 4 tiles, product s of row r, panel p at
 * m + s * setBytes + r * ldc + 16 p; then the bias and with `act` max(y, 0) + alpha * min(y, 0)
 * as the GEMM's epilogue does. Row r's outputs go to stage + 2 r * half: output row i of
 * the tiles at + i * half, the two columns of a tile side by side (tile order).
 */
function outputFunction(): WasmFunction {
  const { HALF, P, Q, SQ } = OUT;
  const MV = (s: number) => V128_FIRST + s; // 16
  const [T0, T1] = [V128_FIRST + 16, V128_FIRST + 20]; // t_i,k at T_i + k
  const Y = (i: number, j: number) => V128_FIRST + 24 + i * 2 + j;
  const [BV, AV] = [V128_FIRST + 28, V128_FIRST + 29];
  const panel: number[] = [];
  // A^T M down the columns: m0 + m1 + m2, m1 - m2 - m3.
  for (let k = 0; k < 4; k++) {
    panel.push(...op.get(MV(k)), ...op.get(MV(4 + k)), ...op.fadd, ...op.get(MV(8 + k)), ...op.fadd, ...op.set(T0 + k));
    panel.push(...op.get(MV(4 + k)), ...op.get(MV(8 + k)), ...op.fsub, ...op.get(MV(12 + k)), ...op.fsub, ...op.set(T1 + k));
  }
  for (let i = 0; i < 2; i++) {
    const t = i ? T1 : T0;
    panel.push(...op.get(t), ...op.get(t + 1), ...op.fadd, ...op.get(t + 2), ...op.fadd, ...op.get(BV), ...op.fadd, ...op.set(Y(i, 0)));
    panel.push(...op.get(t + 1), ...op.get(t + 2), ...op.fsub, ...op.get(t + 3), ...op.fsub, ...op.get(BV), ...op.fadd, ...op.set(Y(i, 1)));
  }
  panel.push(...activation([Y(0, 0), Y(0, 1), Y(1, 0), Y(1, 1)], AV));
  for (let i = 0; i < 2; i++) {
    // Q: this output row of the panel's 4 tiles, 8 floats.
    panel.push(...op.get(SQ), ...(i ? [...op.get(HALF), ...op.add] : []), ...op.get(P), ...op.i32(5), ...op.shl, ...op.add, ...op.set(Q));
    panel.push(...op.get(Q), ...op.get(Y(i, 0)), ...op.get(Y(i, 1)), ...op.shuffle(ZIP_LO), ...op.store(0));
    panel.push(...op.get(Q), ...op.get(Y(i, 0)), ...op.get(Y(i, 1)), ...op.shuffle(ZIP_HI), ...op.store(16));
  }
  const body = outputLoops(16, MV, BV, AV, 2, panel);
  return { name: 'output', params: 10, locals: [[OUT_I32_LOCALS, I32], [AV - V128_FIRST + 1, V128]], body };
}

/**
 * rows(src, dst, table, entries, len, channels, srcStride, dstStride): for each channel and
 * each table entry (source and destination byte offsets, i32 pairs) `len` floats copied,
 * vectors then single floats so nothing past a row is touched (a strip row's zero padding
 * lies right after it). Builds the input strips from rows copied in, and the output rows
 * from the stage: per task a few long copies from JavaScript instead of one per row.
 */
function rowsFunction(): WasmFunction {
  const [SRC, DST, TABLE, ENTRIES, LEN, CH, SS, DS] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [C, E, TP, S, D, N] = [8, 9, 10, 11, 12, 13];
  const body = [
    ...op.get(CH), ...op.if, ...op.get(ENTRIES), ...op.if,
    ...op.loop, // channels
    ...op.get(TABLE), ...op.set(TP), ...op.i32(0), ...op.set(E),
    ...op.loop, // entries
    ...op.get(SRC), ...op.get(TP), ...op.loadI32(0), ...op.add, ...op.set(S),
    ...op.get(DST), ...op.get(TP), ...op.loadI32(4), ...op.add, ...op.set(D),
    ...op.get(LEN), ...op.set(N),
    ...op.i32(3), ...op.get(N), ...op.ltU, ...op.if,
    ...op.loop,
    ...op.get(D), ...op.get(S), ...op.load(0), ...op.store(0),
    ...op.get(S), ...op.i32(16), ...op.add, ...op.set(S), ...op.get(D), ...op.i32(16), ...op.add, ...op.set(D),
    ...op.get(N), ...op.i32(4), ...op.sub, ...op.set(N),
    ...op.i32(3), ...op.get(N), ...op.ltU, ...op.brIf(0), ...op.end,
    ...op.end,
    ...op.get(N), ...op.if,
    ...op.loop,
    ...op.get(D), ...op.get(S), ...op.loadF32(0), ...op.storeF32(0),
    ...op.get(S), ...op.i32(4), ...op.add, ...op.set(S), ...op.get(D), ...op.i32(4), ...op.add, ...op.set(D),
    ...op.get(N), ...op.i32(1), ...op.sub, ...op.tee(N), ...op.brIf(0), ...op.end,
    ...op.end,
    ...op.get(TP), ...op.i32(8), ...op.add, ...op.set(TP),
    ...op.get(E), ...op.i32(1), ...op.add, ...op.tee(E), ...op.get(ENTRIES), ...op.ne, ...op.brIf(0), ...op.end,
    ...op.get(SRC), ...op.get(SS), ...op.add, ...op.set(SRC), ...op.get(DST), ...op.get(DS), ...op.add, ...op.set(DST),
    ...op.get(C), ...op.i32(1), ...op.add, ...op.tee(C), ...op.get(CH), ...op.ne, ...op.brIf(0), ...op.end,
    ...op.end, ...op.end,
  ];
  return { name: 'rows', params: 8, locals: [[N - C + 1, I32]], body };
}

/** The kernels per output block side, with the GEMM's multiply-add fused (relaxed SIMD) or not. */
const compiled = new Map<string, WebAssembly.Module | null>();

function winogradModule(fused: boolean, m: 2 | 4): WebAssembly.Module | null {
  const key = `${m}${fused ? '+fma' : ''}`;
  if (!compiled.has(key)) {
    const transforms = m === 4 ? [input4Function(), output4Function()] : [inputFunction(), outputFunction()];
    compiled.set(key, compileModule([transforms[0], gemmFunction(fused), transforms[1], rowsFunction()]));
  }
  return compiled.get(key)!;
}

export function simdWinogradSupported(fused = false, m: 2 | 4 = 2): boolean {
  return winogradModule(fused, m) !== null;
}

type Kernel = (...a: number[]) => void;
type Kernels = { input: Kernel; gemm: Kernel; output: Kernel; rows: Kernel };
/**
 * This thread's instance of each module, the weight arrays kept resident in its memory, and the
 * array a copying call (no ConvPlan.residentWeights) last left at offset 0, if still there.
 */
const instances = new Map<string, { memory: WebAssembly.Memory; kernels: Kernels; loadedWeights: Float32Array | null; resident: ResidentWeights }>();

/** Byte offsets of the kernel memory's regions for one conv, and the raw rows' capacity. */
interface Layout {
  v: number;
  m: number;
  stage: number;
  outRows: number;
  bias: number;
  alpha: number;
  strip: number;
  raw: number;
  /** Raw input rows per channel and floats per raw row. */
  rawRows: number;
  rawW: number;
  table: number;
  end: number;
}

/** The regions from byte `base` on, the first (the weights, `products` matrices of rowsPad x cIn) left out where `weightsHere` is false. */
function layout(p: ConvPlan, g: WinogradGeometry, base: number, weightsHere: boolean): Layout {
  const align = (n: number) => Math.ceil(n / 4) * 16;
  const products = winogradProducts(p);
  const window = g.m + 2;
  // A task's tile rows read at most m rows each plus 2 per batch item they span.
  const tileRows = g.rowsPerTask || 1;
  const rawRows = Math.min(window * tileRows, p.n * p.inH);
  const rawW = g.rowsPerTask ? p.inW : Math.min(p.inW, g.m * g.chunkTiles + 2);
  const outW = g.rowsPerTask ? p.outW : g.m * g.chunkTiles;
  const v = base + (weightsHere ? align(products * g.rowsPad * p.cIn) : 0);
  const m = v + align(products * g.panels * 4 * p.cIn);
  const stage = m + align(products * g.group * g.tiles);
  const outRows = stage + align(g.rowsPad * g.m * g.m * g.tiles);
  const bias = outRows + align(g.rowsPad * g.m * tileRows * outW);
  const alpha = bias + align(g.rowsPad);
  const strip = alpha + align(g.rowsPad);
  const raw = strip + align(p.cIn * window * g.strip);
  const table = raw + align(p.cIn * rawRows * rawW);
  return { v, m, stage, outRows, bias, alpha, strip, raw, rawRows, rawW, table, end: table + align(2 * window * tileRows) + 64 };
}

/** A run of output channels of a larger conv: its packed rows start at `first` of `all` in each of the 16 (or 36) matrices. */
export interface WeightRows {
  first: number;
  all: number;
}

/**
 * Tasks [from, to) of a Winograd conv (winogradGeometry's tasks) with weights from
 * winogradWeights (or `rows` of them). Each thread has its own kernel memory; the weights stay
 * resident there (read in place, a run of rows included) where the plan allows, else are copied
 * in per call (once per array while the same array repeats); the bias and slopes once per call.
 */
export function simdWinogradTasks(
  p: ConvPlan, x: Float32Array, weights: Float32Array, bias: Float32Array | null, out: Float32Array,
  alpha: Float32Array | null, from: number, to: number, rows?: WeightRows,
): void {
  const fused = p.fma === true;
  const g = winogradGeometry(p);
  const m = g.m as 2 | 4;
  const key = `${m}${fused ? '+fma' : ''}`;
  let instance = instances.get(key);
  if (!instance) {
    const module = winogradModule(fused, m);
    if (!module) throw new Error(fused ? 'WebAssembly relaxed SIMD is not available' : 'WebAssembly SIMD is not available');
    const made = instantiate<Kernels>(module);
    instance = { memory: made.memory, kernels: made.exports, loadedWeights: null, resident: new ResidentWeights(made.memory) };
    instances.set(key, instance);
  }
  const products = winogradProducts(p);
  const window = m + 2;
  // Resident weights (ConvPlan.residentWeights) are read where they lie, a run of rows included
  // (each of the matrices `rows.all` rows tall); others are copied to the front of this call's regions.
  const residentAt = p.residentWeights ? instance.resident.offsetOf(weights) : null;
  const base = instance.resident.end;
  const at = layout(p, g, base, residentAt === null);
  const { memory, kernels: { input, gemm, output, rows: copyRows } } = instance;
  const grew = memory.buffer.byteLength < at.end;
  ensureBytes(memory, at.end);
  const mem = new Float32Array(memory.buffer);
  const table = new Int32Array(memory.buffer);
  const { cIn, cOut, inH, inW, outH, outW, padTop, padLeft } = p;
  const { tH, tW, rowsPad, group, tiles, strip } = g;
  // Matrix s, row r of this call's weights at weightAt(s) + 4 r cIn.
  let weightAt: (s: number) => number;
  if (residentAt !== null) {
    const all = rows ? rows.all : rowsPad;
    const first = rows ? rows.first : 0;
    weightAt = (s) => residentAt + 4 * (s * all + first) * cIn;
    // A resident copy may have been written over the weights a plain call left at offset 0.
    instance.loadedWeights = null;
  } else {
    weightAt = (s) => base + 4 * s * rowsPad * cIn;
    if (rows) {
      // Rows [first, first + rowsPad) of each of the matrices, packed as this conv's own.
      for (let s = 0; s < products; s++) {
        const src = (s * rows.all + rows.first) * cIn;
        mem.set(weights.subarray(src, src + rowsPad * cIn), base / 4 + s * rowsPad * cIn);
      }
      instance.loadedWeights = null;
    } else if (grew || instance.loadedWeights !== weights || base !== 0) {
      mem.set(weights, base / 4);
      instance.loadedWeights = base === 0 ? weights : null;
    }
  }
  for (let c = 0; c < rowsPad; c++) {
    mem[at.bias / 4 + c] = bias && c < cOut ? bias[c] : 0;
    mem[at.alpha / 4 + c] = p.activation === 2 && c < cOut ? alpha![c] : 0;
  }
  const act = p.activation !== 0 ? 1 : 0;
  const plane = inH * inW;
  const outPlane = outH * outW;
  const setBytes = g.panels * 16 * cIn;
  const stageRow = m * m * tiles; // floats per output channel in the stage: m rows of m * tiles
  const { rawRows, rawW } = at;
  const rawBase = at.raw / 4;
  const tableAt = at.table / 4;
  for (let t = from; t < to; t++) {
    // The task's segments: tile rows [r0, r1) from tile column c0, `len` tiles each, row k of
    // the task starting at virtual tile k * step.
    let r0: number, r1: number, c0: number, len: number, step: number;
    if (g.rowsPerTask) {
      r0 = t * g.rowsPerTask;
      r1 = Math.min(p.n * tH, r0 + g.rowsPerTask);
      c0 = 0;
      len = tW;
      step = tW + 1;
    } else {
      r0 = Math.floor(t / g.chunks);
      r1 = r0 + 1;
      c0 = (t % g.chunks) * g.chunkTiles;
      len = Math.min(g.chunkTiles, tW - c0);
      step = len;
    }
    const count = (r1 - r0 - 1) * step + len;
    const panels = Math.ceil(count / 4);
    // The input rows the task reads, batch item by batch item, into raw rows (columns
    // [ix0, ix1) of the input); then each tile row's m + 2 rows (padded coordinates m ty ...
    // m ty + m + 1, columns m c0 ... m (c0 + len) + 1) into the strips, zeros where the window
    // is outside the input.
    const ix0 = Math.max(0, m * c0 - padLeft);
    const ix1 = Math.min(inW, m * (c0 + len) + 2 - padLeft);
    const rw = ix1 - ix0;
    let raw = 0;
    let entries = 0;
    for (let r = r0; r < r1; ) {
      const b = Math.floor(r / tH);
      const rEnd = Math.min(r1, (b + 1) * tH);
      const y0 = Math.max(0, m * (r - b * tH) - padTop);
      const y1 = Math.min(inH, m * (rEnd - 1 - b * tH) + window - padTop);
      if (y1 > y0 && rw > 0) {
        for (let c = 0; c < cIn; c++) {
          const src = (b * cIn + c) * plane;
          const dst = rawBase + c * rawRows * rawW + raw * rawW;
          if (rw === inW) copyFloats(mem, dst, x, src + y0 * inW, (y1 - y0) * inW);
          else for (let y = y0; y < y1; y++) copyFloats(mem, dst + (y - y0) * rw, x, src + y * inW + ix0, rw);
        }
        for (; r < rEnd; r++) {
          const ty = r - b * tH;
          for (let i = 0; i < window; i++) {
            const iy = m * ty + i - padTop;
            if (iy < y0 || iy >= y1) continue;
            table[tableAt + 2 * entries] = 4 * (raw + iy - y0) * rw;
            table[tableAt + 2 * entries + 1] = 4 * (i * strip + m * (r - r0) * step + ix0 + padLeft - m * c0);
            entries++;
          }
        }
        raw += y1 - y0;
      }
      r = rEnd;
    }
    mem.fill(0, at.strip / 4, at.strip / 4 + cIn * window * strip);
    copyRows(at.raw, at.strip, at.table, entries, rw, cIn, rawRows * rawW * 4, window * strip * 4);
    input(at.v, at.strip, strip * 4, cIn, panels, setBytes, cIn * 16);
    for (let m0 = 0; m0 < rowsPad; m0 += group) {
      const rows = Math.min(group, rowsPad - m0);
      for (let s = 0; s < products; s++) {
        gemm(weightAt(s) + 4 * m0 * cIn, at.v + s * setBytes, at.m + s * group * tiles * 4, cIn, rows / 4, panels, tiles * 4);
      }
      output(at.m, at.stage + m0 * stageRow * 4, at.bias + 4 * m0, at.alpha + 4 * m0, act, rows, panels, group * tiles * 4, tiles * 4, m * tiles * 4);
    }
    // Output rows m ty ... m ty + m - 1 of each tile row (a last tile row's only where the
    // output has them), columns m c0 ... (the last tile's only where the output has them),
    // gathered per channel into consecutive rows `w` wide, then copied out: one copy per
    // channel and batch item (whole rows), or per channel and row (a chunk of a wide row).
    const ox0 = m * c0;
    const w = Math.min(m * len, outW - ox0);
    entries = 0;
    for (let r = r0; r < r1; r++) {
      const ty = r % tH;
      const rowsOut = Math.min(m, outH - m * ty);
      for (let i = 0; i < rowsOut; i++) {
        table[tableAt + 2 * entries] = 4 * (i * m * tiles + m * (r - r0) * step);
        table[tableAt + 2 * entries + 1] = 4 * entries * w;
        entries++;
      }
    }
    const perChannel = entries * w;
    copyRows(at.stage, at.outRows, at.table, entries, w, cOut, stageRow * 4, perChannel * 4);
    const outBase = at.outRows / 4;
    if (w === outW) {
      let row = 0;
      for (let r = r0; r < r1; ) {
        const b = Math.floor(r / tH);
        const rEnd = Math.min(r1, (b + 1) * tH);
        const oy0 = m * (r - b * tH);
        const oy1 = Math.min(outH, m * (rEnd - b * tH));
        const n = (oy1 - oy0) * outW;
        for (let c = 0; c < cOut; c++) {
          const src = outBase + c * perChannel + row * outW;
          copyFloats(out, (b * cOut + c) * outPlane + oy0 * outW, mem, src, n);
        }
        row += oy1 - oy0;
        r = rEnd;
      }
    } else {
      const b = Math.floor(r0 / tH);
      const oy0 = m * (r0 - b * tH);
      for (let c = 0; c < cOut; c++) {
        for (let i = 0; i < entries; i++) {
          const src = outBase + c * perChannel + i * w;
          copyFloats(out, (b * cOut + c) * outPlane + (oy0 + i) * outW + ox0, mem, src, w);
        }
      }
    }
  }
}
