// Dot products of one query with many stored rows, on WebAssembly SIMD: four lanes of a row
// times four of the query per instruction, the lanes summed at the row's end. The rows live in
// the module's memory, so a search reads the index where it is stored and copies nothing.
import { compileModule, I32, op, V128, type WasmFunction } from '../tensor/cpu/wasm.ts';

// scores(rows, query, out, count, rowBytes): out[r] = sum_k rows[r][k] * query[k]; rowBytes a
// positive multiple of 16 (rows padded with zeros to four floats).
const [ROWS, QUERY, OUT, COUNT, ROW_BYTES] = [0, 1, 2, 3, 4];
const [K, R, ACC] = [5, 6, 7];

const extractLane = (lane: number) => [0xfd, 0x1f, lane];
const addF32 = [0x92];

function scoresFunction(): WasmFunction {
  const body = [
    ...op.i32(0), ...op.set(R),
    ...op.loop, // rows
    ...op.zero, ...op.set(ACC),
    ...op.i32(0), ...op.set(K),
    ...op.loop, // four dimensions at a time
    ...op.get(ACC),
    ...op.get(ROWS), ...op.get(K), ...op.add, ...op.load(0),
    ...op.get(QUERY), ...op.get(K), ...op.add, ...op.load(0),
    ...op.fmul, ...op.fadd, ...op.set(ACC),
    ...op.get(K), ...op.i32(16), ...op.add, ...op.set(K),
    ...op.get(K), ...op.get(ROW_BYTES), ...op.ltU, ...op.brIf(0), ...op.end,
    ...op.get(OUT),
    ...op.get(ACC), ...extractLane(0), ...op.get(ACC), ...extractLane(1), ...addF32,
    ...op.get(ACC), ...extractLane(2), ...op.get(ACC), ...extractLane(3), ...addF32,
    ...addF32, ...op.storeF32(0),
    ...op.get(OUT), ...op.i32(4), ...op.add, ...op.set(OUT),
    ...op.get(ROWS), ...op.get(ROW_BYTES), ...op.add, ...op.set(ROWS),
    ...op.get(R), ...op.i32(1), ...op.add, ...op.set(R),
    ...op.get(R), ...op.get(COUNT), ...op.ltU, ...op.brIf(0), ...op.end,
  ];
  return { name: 'scores', params: 5, locals: [[2, I32], [1, V128]], body };
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled kernel, or null where the engine has no WebAssembly SIMD. */
export function scoresModule(): WebAssembly.Module | null {
  if (compiled === undefined) compiled = compileModule([scoresFunction()]);
  return compiled;
}

export type ScoresKernel = (rows: number, query: number, out: number, count: number, rowBytes: number) => void;
