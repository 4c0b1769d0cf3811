// Page side: counters wrapped around the browser's own APIs, so the bench sees what any engine
// compiles, uploads and reads back without touching the engine: WebAssembly module compiles,
// WebGL shader compiles and program links, texture uploads, readPixels, draws, and WebGPU shader
// modules and pipelines. Everything is patched on the prototypes once per page (contexts made
// before or after see the same hooks); only the main thread is seen, not Web Workers.

export interface CompileCounts {
  /** WebAssembly.Module / compile / instantiate from bytes. */
  wasm: number;
  /** Distinct module bytes among them: fewer than `wasm` means a module compiled twice. */
  wasmDistinct: number;
  glShaders: number;
  glShadersDistinct: number;
  glPrograms: number;
  gpuShaderModules: number;
  gpuShaderModulesDistinct: number;
  gpuPipelines: number;
  /** ms spent inside the calls above (WebGL: compile, link and the link-status query that waits for it). */
  ms: number;
}

/** One GL program's draws: its label (kernel argument and constant names) and shader time. */
export interface DrawStat {
  label: string;
  draws: number;
  ms: number;
}

export interface GlCounts {
  uploads: number;
  uploadBytes: number;
  uploadMs: number;
  readbacks: number;
  readbackBytes: number;
  readbackMs: number;
  draws: number;
  /** Draw calls timed with a sync (a 1-pixel read) after each (only while timeDraws is on). */
  drawMs: number;
  /** The sync before each timed draw: earlier work (uploads) still queued. */
  drainMs: number;
  programs: DrawStat[];
}

const now = () => performance.now();

/** FNV-1a over a string or bytes: enough to tell sources apart. */
function hash(x: string | Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < x.length; i++) {
    h ^= typeof x === 'string' ? x.charCodeAt(i) : x[i];
    h = Math.imul(h, 0x01000193);
  }
  return `${(h >>> 0).toString(16)}:${x.length}`;
}

function bytesOf(source: unknown): Uint8Array | null {
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  return null;
}

const seen = { wasm: new Set<string>(), gl: new Set<string>(), gpu: new Set<string>() };
const compile: CompileCounts = { wasm: 0, wasmDistinct: 0, glShaders: 0, glShadersDistinct: 0, glPrograms: 0, gpuShaderModules: 0, gpuShaderModulesDistinct: 0, gpuPipelines: 0, ms: 0 };
const gl: Omit<GlCounts, 'programs'> = { uploads: 0, uploadBytes: 0, uploadMs: 0, readbacks: 0, readbackBytes: 0, readbackMs: 0, draws: 0, drawMs: 0, drainMs: 0 };
const programs = new Map<string, DrawStat>();
let timeDraws = false;
/** Set in a Web Worker (workerHooks.ts): every WebAssembly compile is also logged, for the Node side to count. */
let logPrefix: string | null = null;

export const WASM_LOG = 'tsface-bench wasm-compile';

function countWasm(source: unknown): void {
  const bytes = bytesOf(source);
  if (!bytes) return;
  compile.wasm++;
  const key = hash(bytes);
  if (logPrefix) console.debug(`${logPrefix} ${key}`);
  if (!seen.wasm.has(key)) compile.wasmDistinct++;
  seen.wasm.add(key);
}

function timedInto<T>(fn: () => T): T {
  const t = now();
  try {
    return fn();
  } finally {
    compile.ms += now() - t;
  }
}

function hookWasm(): void {
  const W = WebAssembly as unknown as Record<string, unknown>;
  const Module = WebAssembly.Module;
  W.Module = new Proxy(Module, {
    construct(target, args, newTarget) {
      countWasm(args[0]);
      return timedInto(() => Reflect.construct(target, args, newTarget === W.Module ? target : newTarget));
    },
  });
  const compileAsync = WebAssembly.compile;
  W.compile = async (bytes: BufferSource) => {
    countWasm(bytes);
    const t = now();
    try {
      return await compileAsync(bytes);
    } finally {
      compile.ms += now() - t;
    }
  };
  const instantiate = WebAssembly.instantiate as (a: unknown, b?: unknown) => Promise<unknown>;
  W.instantiate = async (source: unknown, imports?: unknown) => {
    if (!(source instanceof Module)) countWasm(source);
    const t = now();
    try {
      return await instantiate(source, imports);
    } finally {
      if (!(source instanceof Module)) compile.ms += now() - t;
    }
  };
}

/** A label for a program from gpu.js's (or tf.js's) fragment shader: its sampler and constant names. */
function programLabel(fragment: string): string {
  const names = (re: RegExp) => [...new Set([...fragment.matchAll(re)].map((m) => m[1]))];
  const args = names(/uniform\s+(?:\w+\s+)+user_(\w+)/g).filter((n) => !/(Dim|Size)$/.test(n));
  const constants = names(/constants_(\w+)/g).filter((n) => !/(Dim|Size)$/.test(n));
  if (!args.length && !constants.length) return `program ${hash(fragment)}`;
  return `(${args.join(',')})${constants.length ? ` ${constants.join(',')}` : ''}`;
}

function hookGl(proto: WebGLRenderingContext | WebGL2RenderingContext): void {
  type Fn = (...a: unknown[]) => unknown;
  const p = proto as unknown as Record<string, Fn>;
  const wrap = (name: string, make: (orig: Fn) => Fn) => {
    const orig = p[name];
    if (typeof orig === 'function') p[name] = make(orig);
  };
  const sources = new WeakMap<object, string>();
  const fragments = new WeakMap<object, string>();
  const attached = new WeakMap<object, object[]>();
  const labels = new WeakMap<object, string>();
  const current = new WeakMap<object, string>();
  wrap('shaderSource', (orig) => function (this: unknown, shader, src) {
    sources.set(shader as object, String(src));
    return orig.call(this, shader, src);
  });
  wrap('compileShader', (orig) => function (this: unknown, shader) {
    compile.glShaders++;
    const key = hash(sources.get(shader as object) ?? '');
    if (!seen.gl.has(key)) compile.glShadersDistinct++;
    seen.gl.add(key);
    return timedInto(() => orig.call(this, shader));
  });
  wrap('attachShader', (orig) => function (this: unknown, program, shader) {
    attached.set(program as object, [...(attached.get(program as object) ?? []), shader as object]);
    return orig.call(this, program, shader);
  });
  wrap('linkProgram', (orig) => function (this: WebGL2RenderingContext, program) {
    compile.glPrograms++;
    const fragment = (attached.get(program as object) ?? []).map((s) => sources.get(s) ?? '').find((s) => /gl_FragColor|out\s+vec4/.test(s)) ?? '';
    fragments.set(program as object, fragment);
    return timedInto(() => orig.call(this, program));
  });
  wrap('getProgramParameter', (orig) => function (this: WebGL2RenderingContext, program, pname) {
    // ANGLE links in the background: the link-status query is where a page waits for it.
    return pname === this.LINK_STATUS ? timedInto(() => orig.call(this, program, pname)) : orig.call(this, program, pname);
  });
  wrap('useProgram', (orig) => function (this: unknown, program) {
    if (program) {
      let label = labels.get(program as object);
      if (!label) labels.set(program as object, (label = programLabel(fragments.get(program as object) ?? '')));
      current.set(this as object, label);
    }
    return orig.call(this, program);
  });
  for (const name of ['texImage2D', 'texSubImage2D', 'texImage3D', 'texSubImage3D', 'bufferData', 'bufferSubData']) {
    wrap(name, (orig) => function (this: unknown, ...a: unknown[]) {
      const data = a.map(bytesOf).find((b) => b && b.byteLength > 0);
      if (!data) return orig.apply(this, a);
      const t = now();
      try {
        return orig.apply(this, a);
      } finally {
        gl.uploads++;
        gl.uploadBytes += data.byteLength;
        gl.uploadMs += now() - t;
      }
    });
  }
  const nativeReadPixels = p.readPixels;
  /**
   * Waits until the GPU has run everything queued: a 1-pixel read of the bound framebuffer.
   * Chromium's WebGL finish() only flushes (it does not wait for the GPU process), so it cannot
   * bracket a draw; a read must wait for the draw that wrote the pixels.
   */
  const sync = (g: WebGL2RenderingContext) => {
    const format = g.getParameter(g.IMPLEMENTATION_COLOR_READ_FORMAT) as number;
    const type = g.getParameter(g.IMPLEMENTATION_COLOR_READ_TYPE) as number;
    if (!format || !type) return;
    const pixel = type === g.FLOAT ? new Float32Array(4) : type === g.UNSIGNED_BYTE ? new Uint8Array(4) : type === g.INT ? new Int32Array(4) : type === g.UNSIGNED_INT ? new Uint32Array(4) : new Uint16Array(4);
    nativeReadPixels.call(g, 0, 0, 1, 1, format, type, pixel);
  };
  wrap('readPixels', (orig) => function (this: unknown, ...a: unknown[]) {
    const t = now();
    try {
      return orig.apply(this, a);
    } finally {
      gl.readbacks++;
      gl.readbackBytes += a.map(bytesOf).find((b) => b)?.byteLength ?? 0;
      gl.readbackMs += now() - t;
    }
  });
  for (const name of ['drawArrays', 'drawElements']) {
    wrap(name, (orig) => function (this: WebGL2RenderingContext, ...a: unknown[]) {
      gl.draws++;
      const label = current.get(this) ?? 'unknown program';
      const stat = programs.get(label) ?? { label, draws: 0, ms: 0 };
      programs.set(label, stat);
      stat.draws++;
      if (!timeDraws) return orig.apply(this, a);
      let t = now();
      sync(this);
      gl.drainMs += now() - t;
      t = now();
      const result = orig.apply(this, a);
      sync(this);
      const ms = now() - t;
      gl.drawMs += ms;
      stat.ms += ms;
      return result;
    });
  }
}

function hookWebGpu(): void {
  const Device = (globalThis as unknown as { GPUDevice?: { prototype: Record<string, (...a: unknown[]) => unknown> } }).GPUDevice;
  if (!Device) return;
  const p = Device.prototype;
  const shaderModule = p.createShaderModule;
  p.createShaderModule = function (this: unknown, desc) {
    compile.gpuShaderModules++;
    const key = hash(String((desc as { code?: string }).code ?? ''));
    if (!seen.gpu.has(key)) compile.gpuShaderModulesDistinct++;
    seen.gpu.add(key);
    return timedInto(() => shaderModule.call(this, desc));
  };
  for (const name of ['createComputePipeline', 'createRenderPipeline']) {
    const orig = p[name];
    p[name] = function (this: unknown, desc) {
      compile.gpuPipelines++;
      return timedInto(() => orig.call(this, desc));
    };
  }
  for (const name of ['createComputePipelineAsync', 'createRenderPipelineAsync']) {
    const orig = p[name];
    if (!orig) continue;
    p[name] = async function (this: unknown, desc) {
      compile.gpuPipelines++;
      const t = now();
      try {
        return await orig.call(this, desc);
      } finally {
        compile.ms += now() - t;
      }
    };
  }
}

let installed = false;
/** Patches the APIs once per page; call before the engine compiles anything it should count. */
export function installHooks(): void {
  if (installed) return;
  installed = true;
  hookWasm();
  if (typeof WebGL2RenderingContext !== 'undefined') hookGl(WebGL2RenderingContext.prototype);
  if (typeof WebGLRenderingContext !== 'undefined') hookGl(WebGLRenderingContext.prototype);
  hookWebGpu();
}

/** Logs every WebAssembly compile of this thread as `WASM_LOG <thread> <module hash>` (the main thread's are counted in place). */
export function logCompiles(thread: string): void {
  logPrefix = `${WASM_LOG} ${thread}`;
}

/** Draws bracketed by syncs (1-pixel reads) from now on (shader time per program), or not. */
export function setTimeDraws(on: boolean): void {
  timeDraws = on;
}

export function compileCounts(): CompileCounts {
  return { ...compile };
}

export function glCounts(): GlCounts {
  return { ...gl, programs: [...programs.values()].map((s) => ({ ...s })) };
}

/** The difference of two snapshots of the same counters (what happened between them). */
export function compileSince(before: CompileCounts): CompileCounts {
  const after = compileCounts();
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof CompileCounts]])) as unknown as CompileCounts;
}

export function glSince(before: GlCounts): GlCounts {
  const after = glCounts();
  const { programs: p1, ...rest } = after;
  const diff = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, v - (before as unknown as Record<string, number>)[k]])) as unknown as GlCounts;
  diff.programs = p1
    .map((s) => {
      const b = before.programs.find((o) => o.label === s.label);
      return { label: s.label, draws: s.draws - (b?.draws ?? 0), ms: s.ms - (b?.ms ?? 0) };
    })
    .filter((s) => s.draws > 0);
  return diff;
}
