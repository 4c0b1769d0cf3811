// A tiny WebAssembly assembler: the instructions tsface's SIMD kernels use, and a module of
// exported functions over one imported memory. The kernels are written as arrays of opcodes in
// TypeScript (simdGemm.ts, simdPool.ts), so nothing binary is shipped or built.

import { keepBuffersAttached } from '../../platform/index.ts';

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(byte & 0x40)) || (n === -1 && byte & 0x40)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => vec([...s].map((ch) => [ch.charCodeAt(0)]));

/** Instructions; memargs are (log2 alignment, offset). SIMD opcodes: 0xfd, then the opcode as unsigned LEB128. */
export const op = {
  get: (l: number) => [0x20, ...uleb(l)],
  set: (l: number) => [0x21, ...uleb(l)],
  i32: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  shl: [0x74],
  shrU: [0x76],
  ltU: [0x49],
  ne: [0x47],
  eq: [0x46],
  /** memory.copy (bulk memory): dst, src, byte count on the stack. */
  memoryCopy: [0xfc, ...uleb(10), 0, 0],
  /** memory.fill (bulk memory): dst, byte value, byte count on the stack. */
  memoryFill: [0xfc, ...uleb(11), 0],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  else: [0x05],
  end: [0x0b],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  loadI32: (offset: number) => [0x28, 2, ...uleb(offset)],
  loadF32: (offset: number) => [0x2a, 2, ...uleb(offset)],
  storeF32: (offset: number) => [0x38, 2, ...uleb(offset)],
  maxF32: [0x97],
  load: (offset: number) => [0xfd, ...uleb(0x00), 0, ...uleb(offset)],
  loadSplat: (offset: number) => [0xfd, ...uleb(0x09), 2, ...uleb(offset)],
  store: (offset: number) => [0xfd, ...uleb(0x0b), 0, ...uleb(offset)],
  zero: [0xfd, ...uleb(0x0c), ...new Array(16).fill(0)],
  splat: [0xfd, ...uleb(0x13)],
  /** i8x16.shuffle: 16 byte indices into the concatenation of the two operands. */
  shuffle: (bytes: number[]) => [0xfd, ...uleb(0x0d), ...bytes],
  replaceLane: (lane: number) => [0xfd, ...uleb(0x20), lane],
  fadd: [0xfd, ...uleb(0xe4)],
  fmul: [0xfd, ...uleb(0xe6)],
  fsub: [0xfd, ...uleb(0xe5)],
  /** f32x4.relaxed_madd (relaxed SIMD): a * b + c, fused or not as the CPU has it. */
  relaxedMadd: [0xfd, ...uleb(0x105)],
  fmin: [0xfd, ...uleb(0xe8)],
  fmax: [0xfd, ...uleb(0xe9)],
  fdiv: [0xfd, ...uleb(0xe7)],
  fsqrt: [0xfd, ...uleb(0xe3)],
  tee: (l: number) => [0x22, ...uleb(l)],
  storeI32: (offset: number) => [0x36, 2, ...uleb(offset)],
  /** v128.const with `v` in all four 32-bit lanes. */
  constI32x4: (v: number) => [0xfd, ...uleb(0x0c), ...new Array(4).fill([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]).flat()],
  and: [0xfd, ...uleb(0x4e)],
  /** a & ~b */
  andnot: [0xfd, ...uleb(0x4f)],
  xor: [0xfd, ...uleb(0x51)],
  /** i32x4 lanes shifted right (arithmetic) by an i32 count. */
  ishrS: [0xfd, ...uleb(0xac)],
  igtS: [0xfd, ...uleb(0x3b)],
  imaxS: [0xfd, ...uleb(0xb8)],
  extractLaneI32: (lane: number) => [0xfd, ...uleb(0x1b), lane],
};

export interface WasmFunction {
  name: string;
  /** All parameters are i32 (byte offsets and counts); no results. */
  params: number;
  /** Extra locals as [count, type] runs; they are numbered after the parameters. */
  locals: [number, number][];
  body: number[];
}

/**
 * Modules compiled on this thread or sent from another, by their bytes: a worker given the
 * calling thread's modules (postMessage clones a module without compiling it again, and the
 * engine shares its code, optimised tiers included) starts with the kernels warm instead of
 * compiling and tiering up each one itself.
 */
const compiled = new Map<string, WebAssembly.Module>();

/** How many modules this thread has compiled or adopted. */
export function compiledModuleCount(): number {
  return compiled.size;
}

/** The modules compiled or adopted here, oldest first, from the `from`-th on (a thread sent the first `from` needs only the rest). */
export function compiledModules(from = 0): [string, WebAssembly.Module][] {
  return [...compiled].slice(from);
}

/** Takes modules compiled on another thread (compiledModules there), for compileModule to find. */
export function adoptModules(modules: [string, WebAssembly.Module][]): void {
  for (const [key, module] of modules) if (!compiled.has(key)) compiled.set(key, module);
}

/** The bytes as a string, a Map key that two different modules never share. */
function bytesKey(bytes: Uint8Array): string {
  let key = '';
  for (let i = 0; i < bytes.length; i += 4096) key += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return key;
}

/** A module exporting `functions` over the memory it imports as env.memory; null without engine support. */
export function compileModule(functions: WasmFunction[]): WebAssembly.Module | null {
  const bytes = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(functions.map((f) => [0x60, ...vec(new Array(f.params).fill([I32])), ...vec([])]))),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(1)]])),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(7, vec(functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(functions.map((f) => {
      const code = [...vec(f.locals.map(([count, type]) => [...uleb(count), type])), ...f.body, ...op.end];
      return [...uleb(code.length), ...code];
    }))),
  ]);
  const key = bytesKey(bytes);
  const known = compiled.get(key);
  if (known) return known;
  try {
    if (!WebAssembly.validate(bytes)) return null;
    const module = new WebAssembly.Module(bytes);
    compiled.set(key, module);
    return module;
  } catch {
    return null;
  }
}

/**
 * A kernel's growable memory. Where this thread keeps its buffers attached (a page's main
 * thread: platform keepBuffersAttached) and the engine offers WebAssembly.Memory's
 * toResizableBuffer, it grows in place: growing an ordinary memory detaches its old buffer.
 * Second detection / steady state on one thread, in turns with the detaching memories
 * (`npm run bench:browser -- --only cold --modes cpu --no-anchors`): isolated page 1.04-1.13
 * against 1.11-1.44, plain page 1.03-1.06 against 1.11-1.17. Why the kernel workers keep
 * ordinary memories: keepBuffersAttached in src/platform/browser.ts.
 */
export function kernelMemory(): WebAssembly.Memory {
  const resizable = keepBuffersAttached() && typeof (WebAssembly.Memory.prototype as { toResizableBuffer?: unknown }).toResizableBuffer === 'function';
  if (!resizable) return new WebAssembly.Memory({ initial: 1 });
  try {
    // A resizable buffer needs a maximum: the whole 32-bit space, what an ordinary memory may reach.
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
    (memory as unknown as { toResizableBuffer(): ArrayBuffer }).toResizableBuffer();
    return memory;
  } catch {
    // An engine that cannot reserve that much address space (a 32-bit device) grows by detaching.
    return new WebAssembly.Memory({ initial: 1 });
  }
}

/** One instance of a module with its own growable memory (per thread: module state is per worker). */
export function instantiate<T>(module: WebAssembly.Module): { memory: WebAssembly.Memory; exports: T } {
  const memory = kernelMemory();
  return { memory, exports: new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as T };
}

/** Grows `memory` to at least `bytes`. */
export function ensureBytes(memory: WebAssembly.Memory, bytes: number): void {
  if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
}
