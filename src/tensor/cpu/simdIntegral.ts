// The integral image and the area resampling read from it (resample.ts) as WebAssembly SIMD
// kernels, one vector per pixel holding its three channels. In TypeScript these were a sixth of
// a detection's time on the main thread: V8 ran the integral at about 10 ns a pixel and each
// resampled cell (twelve lookups, three stores) at 25-40 ns, where the kernels take a few.
//
// Each image gets its own memory (the integral lives as long as the image's detection, and
// detections of several images overlap), laid out as [integral | scratch]: the integral's
// (height + 1) x (width + 1) x 3 int32 cells, then the photo's bytes while the integral is made
// and, after, the span tables and output rows of each resize.
//
// Same bits as resample.ts's loops: the sums are the same integers, and each average is
// ((sum / rows) / cols - 127.5) * 0.0078125 in float32 operations, which give what the
// TypeScript gets by rounding each float64 step to float32 (for these operands a float64
// result rounded to float32 is the float32 operation's own result, see averageBound).
import { env } from '../../platform/index.ts';
import type { Region } from '../geometry.ts';
import { compileModule, ensureBytes, I32, kernelMemory, op, uleb, V128, type WasmFunction } from './wasm.ts';

// Instructions not in wasm.ts's table.
const simd = (code: number) => [0xfd, ...uleb(code)];
const load32Zero = (offset: number) => [...simd(0x5c), 2, ...uleb(offset)];
const widenBytes = simd(0x89); // i16x8.extend_low_i8x16_u
const widenShorts = simd(0xa9); // i32x4.extend_low_i16x8_u
const iadd = simd(0xae);
const isub = simd(0xb1);
const toFloat = simd(0xfa); // f32x4.convert_i32x4_s
const extractF32 = (lane: number) => [...simd(0x1f), lane];
const f32ConvertI32 = [0xb2];

/** v128.const: three lanes of ones, the fourth zero (a pixel's r, g, b, not the next pixel's r). */
const RGB_MASK = [...simd(0x0c), ...new Array(12).fill(0xff), 0, 0, 0, 0];

/**
 * integral(src, dst, width, height, strideBytes): the photo's bytes at src (read four at a time:
 * one byte of slack after them), the integral's cell (0, 0) at dst, row 0 zero already; this
 * zeroes column 0. Each cell is stored as a whole vector whose fourth lane lands on the next
 * cell's r (written again next) or, after a row's last pixel, on the next row's column 0, where
 * it writes the cell above's value plus zero: zero.
 */
function integralFunction(): WasmFunction {
  const [SRC, DST, WIDTH, HEIGHT, STRIDE] = [0, 1, 2, 3, 4];
  const [Y, AT, END] = [5, 6, 7];
  const [ACC, MASK] = [8, 9];
  const body = [
    ...RGB_MASK, ...op.set(MASK),
    ...op.i32(0), ...op.set(Y),
    ...op.loop,
    ...op.zero, ...op.set(ACC),
    // at: cell (y + 1, 1)
    ...op.get(DST), ...op.get(Y), ...op.i32(1), ...op.add, ...op.get(STRIDE), ...op.mul, ...op.add, ...op.i32(12), ...op.add, ...op.set(AT),
    ...op.get(AT), ...op.get(WIDTH), ...op.i32(12), ...op.mul, ...op.add, ...op.set(END),
    ...op.loop,
    ...op.get(ACC), ...op.get(SRC), ...load32Zero(0), ...widenBytes, ...widenShorts, ...op.get(MASK), ...op.and, ...iadd, ...op.set(ACC),
    ...op.get(AT),
    ...op.get(AT), ...op.get(STRIDE), ...op.sub, ...op.load(0), ...op.get(ACC), ...iadd,
    ...op.store(0),
    ...op.get(SRC), ...op.i32(3), ...op.add, ...op.set(SRC),
    ...op.get(AT), ...op.i32(12), ...op.add, ...op.tee(AT), ...op.get(END), ...op.ne, ...op.brIf(0), ...op.end,
    ...op.get(Y), ...op.i32(1), ...op.add, ...op.tee(Y), ...op.get(HEIGHT), ...op.ne, ...op.brIf(0), ...op.end,
  ];
  return { name: 'integral', params: 5, locals: [[3, I32], [2, V128]], body };
}

/**
 * resize(integral, rowTable, colTable, rows, cols, out, planeBytes): for each of `rows` output
 * rows (rowTable: byte offsets of its top and bottom integral rows from `integral`, and its
 * height in pixels) and each of `cols` columns (colTable: byte offsets of its left and right
 * cells, its width), the normalised average of each channel, stored in three planes planeBytes
 * apart, rows one after another.
 */
function resizeFunction(): WasmFunction {
  const [INTEGRAL, ROW_TABLE, COL_TABLE, ROWS, COLS, OUT, PLANE] = [0, 1, 2, 3, 4, 5, 6];
  const [R, C, CEND, TOP, BOTTOM, X0, X1] = [7, 8, 9, 10, 11, 12, 13];
  const [KH, V, HALF, SCALE] = [14, 15, 16, 17];
  const corner = (row: number, x: number) => [...op.get(row), ...op.get(x), ...op.add, ...op.load(0)];
  const body = [
    ...op.constI32x4(0x42ff0000), ...op.set(HALF), // 127.5
    ...op.constI32x4(0x3c000000), ...op.set(SCALE), // 0.0078125
    ...op.get(ROW_TABLE), ...op.set(R),
    ...op.loop,
    ...op.get(INTEGRAL), ...op.get(R), ...op.loadI32(0), ...op.add, ...op.set(TOP),
    ...op.get(INTEGRAL), ...op.get(R), ...op.loadI32(4), ...op.add, ...op.set(BOTTOM),
    ...op.get(R), ...op.loadI32(8), ...f32ConvertI32, ...op.splat, ...op.set(KH),
    ...op.get(COL_TABLE), ...op.set(C),
    ...op.get(COL_TABLE), ...op.get(COLS), ...op.i32(12), ...op.mul, ...op.add, ...op.set(CEND),
    ...op.loop,
    ...op.get(C), ...op.loadI32(0), ...op.set(X0),
    ...op.get(C), ...op.loadI32(4), ...op.set(X1),
    // bottom-right - top-right - bottom-left + top-left, as the TypeScript sums it
    ...corner(BOTTOM, X1), ...corner(TOP, X1), ...isub, ...corner(BOTTOM, X0), ...isub, ...corner(TOP, X0), ...iadd,
    ...toFloat, ...op.get(KH), ...op.fdiv,
    ...op.get(C), ...op.loadI32(8), ...f32ConvertI32, ...op.splat, ...op.fdiv,
    ...op.get(HALF), ...op.fsub, ...op.get(SCALE), ...op.fmul, ...op.set(V),
    ...op.get(OUT), ...op.get(V), ...extractF32(0), ...op.storeF32(0),
    ...op.get(OUT), ...op.get(PLANE), ...op.add, ...op.get(V), ...extractF32(1), ...op.storeF32(0),
    ...op.get(OUT), ...op.get(PLANE), ...op.get(PLANE), ...op.add, ...op.add, ...op.get(V), ...extractF32(2), ...op.storeF32(0),
    ...op.get(OUT), ...op.i32(4), ...op.add, ...op.set(OUT),
    ...op.get(C), ...op.i32(12), ...op.add, ...op.tee(C), ...op.get(CEND), ...op.ne, ...op.brIf(0), ...op.end,
    ...op.get(R), ...op.i32(12), ...op.add, ...op.set(R),
    ...op.get(ROWS), ...op.i32(1), ...op.sub, ...op.tee(ROWS), ...op.brIf(0), ...op.end,
  ];
  return { name: 'resize', params: 7, locals: [[7, I32], [4, V128]], body };
}

type Kernel = (...a: number[]) => void;
let compiled: WebAssembly.Module | null | undefined;

function integralModule(): WebAssembly.Module | null {
  if (compiled === undefined) compiled = env('TSFACE_SIMD') === '0' || env('TSFACE_INTEGRAL_WASM') === '0' ? null : compileModule([integralFunction(), resizeFunction()]);
  return compiled;
}

/** Bytes of output rows one resize call may write before they are copied out (three planes). */
const CHUNK_BYTES = 256 * 1024;

/**
 * A photo's integral image in its own WebAssembly memory, and resizes read from it. Larger
 * sums than averageBound allows go back to the caller (resize returns false).
 */
/** A memory with the kernels' instance over it. */
interface Slot {
  memory: WebAssembly.Memory;
  kernels: { integral: Kernel; resize: Kernel };
}

/**
 * Memories of disposed integrals, for the next image: a new memory's pages fault in as the
 * integral is first written, 3.2 ms of a 640x480 frame's 3.5 here, against 0.25 ms reused.
 */
const spare: Slot[] = [];
const SPARE_SLOTS = 2;

export class IntegralImage {
  private slot: Slot | null;
  private readonly stride: number;
  private readonly scratchAt: number;

  private constructor(module: WebAssembly.Module, readonly width: number, readonly height: number, data: Uint8Array) {
    this.stride = (width + 1) * 3 * 4;
    // One vector of slack after the integral (a row's last store, the last row's fourth lane).
    this.scratchAt = Math.ceil(((height + 1) * this.stride + 16) / 16) * 16;
    const slot = spare.pop() ?? newSlot(module);
    this.slot = slot;
    ensureBytes(slot.memory, this.scratchAt + data.length + 16);
    new Int32Array(slot.memory.buffer, 0, (width + 1) * 3).fill(0);
    new Uint8Array(slot.memory.buffer, this.scratchAt, data.length).set(data);
    slot.kernels.integral(this.scratchAt, 0, width, height, this.stride);
  }

  /** The integral of an RGB image, or null where the kernels cannot run here. */
  static of(width: number, height: number, data: Uint8Array): IntegralImage | null {
    const module = integralModule();
    return module ? new IntegralImage(module, width, height, data) : null;
  }

  /**
   * Gives the memory to the next image's integral. A resize after this returns false (the
   * caller then averages each window from the pixels).
   */
  dispose(): void {
    if (this.slot && spare.length < SPARE_SLOTS) spare.push(this.slot);
    this.slot = null;
  }

  /** The integral's cells (tests): (height + 1) x (width + 1) x 3, row 0 and column 0 zero. */
  cells(): Int32Array {
    if (!this.slot) throw new Error('the integral image was disposed');
    return new Int32Array(this.slot.memory.buffer, 0, (this.height + 1) * (this.width + 1) * 3).slice();
  }

  /**
   * Rows [window.y0, y1) and columns [x0, x1) of `region` resized to outH x outW, normalised,
   * planar (C, window rows, window columns) into out at offset. `rows` and `cols`: the spans of
   * the window's rows and columns (resample.ts's spans). False, writing nothing, where a span's
   * sum could pass averageBound.
   */
  resize(region: Region, rows: Int32Array, cols: Int32Array, winH: number, winW: number, out: Float32Array, offset: number): boolean {
    const slot = this.slot;
    if (!slot || winH === 0 || winW === 0) return false;
    let maxH = 0;
    let maxW = 0;
    for (let i = 0; i < winH; i++) maxH = Math.max(maxH, rows[2 * i + 1] - rows[2 * i]);
    for (let i = 0; i < winW; i++) maxW = Math.max(maxW, cols[2 * i + 1] - cols[2 * i]);
    if (255 * maxH * maxW > averageBound) return false;
    const chunkRows = Math.max(1, Math.min(winH, Math.floor(CHUNK_BYTES / (12 * winW))));
    const rowTableAt = this.scratchAt;
    const colTableAt = rowTableAt + 12 * winH;
    const outAt = Math.ceil((colTableAt + 12 * winW) / 16) * 16;
    ensureBytes(slot.memory, outAt + 12 * chunkRows * winW);
    const ints = new Int32Array(slot.memory.buffer);
    for (let i = 0; i < winH; i++) {
      const at = rowTableAt / 4 + 3 * i;
      ints[at] = (region.y + rows[2 * i]) * this.stride;
      ints[at + 1] = (region.y + rows[2 * i + 1]) * this.stride;
      ints[at + 2] = rows[2 * i + 1] - rows[2 * i];
    }
    for (let i = 0; i < winW; i++) {
      const at = colTableAt / 4 + 3 * i;
      ints[at] = 12 * (region.x + cols[2 * i]);
      ints[at + 1] = 12 * (region.x + cols[2 * i + 1]);
      ints[at + 2] = cols[2 * i + 1] - cols[2 * i];
    }
    const floats = new Float32Array(slot.memory.buffer);
    const plane = winH * winW;
    for (let r0 = 0; r0 < winH; r0 += chunkRows) {
      const n = Math.min(chunkRows, winH - r0);
      const chunkPlane = n * winW;
      slot.kernels.resize(0, rowTableAt + 12 * r0, colTableAt, n, winW, outAt, 4 * chunkPlane);
      for (let c = 0; c < 3; c++) out.set(floats.subarray(outAt / 4 + c * chunkPlane, outAt / 4 + (c + 1) * chunkPlane), offset + c * plane + r0 * winW);
    }
    return true;
  }
}

function newSlot(module: WebAssembly.Module): Slot {
  // Growing in place where this thread must not detach buffers (a page's main thread: wasm.ts).
  const memory = kernelMemory();
  return { memory, kernels: new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Slot['kernels'] };
}

/**
 * The largest channel sum a span's average is computed from here: below 2^24 every sum is a
 * float32 exactly, and the quotients of such integers by small integers, rounded from float64
 * to float32, equal the float32 division (float64 has more than twice float32's precision plus
 * two bits). Images small enough for an integral (2^21 pixels) resized to MTCNN's 12-pixel cells
 * and 24- or 48-pixel crops stay far below it.
 */
const averageBound = 2 ** 24 - 1;
