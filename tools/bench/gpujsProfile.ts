// Where gpu.js's WebGL2 time goes, in a real page: every net of the browser bench runs through
// the gpu.js backend once to warm up, then once with the page's WebGL2 context instrumented.
// Each draw (one kernel step), texture upload, read-back and shader compile is timed with a
// gl.finish() around it, so GPU work is charged to the call that queued it; what is left of
// the pass's wall time is JavaScript between kernels (gpu.js's executor, argument handling).
//   node --import tsx tools/bench/gpujsProfile.ts [--mode webgl2] [--only pnet] [--packed 0|1] [--shader FILE]
// The finishes serialise the pipeline, so the profiled pass is slower than an unprofiled one;
// the shares, not the sum, are the finding. On a machine without a GPU this is SwiftShader,
// a CPU emulation.
import { writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { chromiumMissing, launchChromium } from '../web/chromium.ts';
import { REPO, startServer } from '../web/server.ts';

const args = process.argv.slice(2);
const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const mode = flag('--mode') ?? 'webgl2';
const only = flag('--only');
const packed = flag('--packed');
const shaderFile = flag('--shader');

/** The inputs of the bench's quick mode on an emulated GPU (tools/bench/browser/cases.ts). */
const CASES: { net: string; input: number[] }[] = [
  { net: 'pnet', input: [1, 3, 120, 160] },
  { net: 'rnet', input: [8, 3, 24, 24] },
  { net: 'onet', input: [2, 3, 48, 48] },
  { net: 'nn4small2', input: [1, 3, 96, 96] },
  { net: 'mobilefacenet', input: [1, 3, 112, 112] },
];

const OUT = join(REPO, 'dist', 'gpujs-profile');

/** The page's module: tsface's src with the browser platform seam, Node built-ins stood in. */
const seam: Plugin = {
  name: 'profile-seam',
  setup(b) {
    const node = join(REPO, 'src', 'platform', 'node.ts');
    b.onResolve({ filter: /node\.ts$/ }, (a) => (join(a.resolveDir, a.path) === node ? { path: join(REPO, 'src', 'platform', 'browser.ts') } : undefined));
    const builtins = new RegExp(`^(node:.*|${builtinModules.join('|').replace(/\//g, '\\/')})$`);
    b.onResolve({ filter: builtins }, (a) => ({ path: a.path, namespace: 'stub' }));
    b.onResolve({ filter: /^(pngjs|bullmq|ioredis|onnxruntime-node)$/ }, (a) => ({ path: a.path, namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, async (a) => {
      const real = await import(a.path).catch(() => ({}));
      const names = Object.keys(real).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k));
      return { contents: names.map((k) => `export const ${k} = () => { throw new Error('${a.path} in a page'); };`).join('\n') + '\nexport default {};', loader: 'js' };
    });
  },
};

const PAGE_SOURCE = `
import { GpujsBackend, loadMtcnn, loadMobileFaceNet, Nn4Small2, Tensor } from '${join(REPO, 'src', 'index.ts').replace(/\\/g, '/')}';
const fill = (shape, seed) => { const t = new Tensor(shape); let s = seed >>> 0; for (let i = 0; i < t.size; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; t.data[i] = s / 2 ** 32 - 0.5; } return t; };
const bytes = async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer());
export async function nets() {
  const mtcnn = loadMtcnn(await bytes('/weights/mtcnn.safetensors'));
  const mobilefacenet = loadMobileFaceNet(await bytes('/weights/mobilefacenet.safetensors'));
  const nn4 = Nn4Small2({ batchNorm: false });
  const nn4small2 = nn4.load(new Map(nn4.expectedTensors().map((e, k) => [e.name, fill([...e.shape], 100 + k)])), 'seeded');
  return { ...mtcnn, mobilefacenet, nn4small2 };
}
export { GpujsBackend, fill };
`;

/** Installed before the page's scripts: wraps the WebGL2 calls that cost, off until profile.on. */
function instrument(): void {
  const P = WebGL2RenderingContext.prototype as any;
  const state = { on: false, events: [] as { kind: string; label: string; ms: number }[], program: null as unknown, labels: new Map<unknown, string>(), shaders: new Map<unknown, string>(), sources: new Map<string, string>() };
  (globalThis as any).profile = state;
  const label = (src: string) => {
    // The kernel body gpu.js writes: its arguments and constants name the op.
    const argsOf = [...src.matchAll(/uniform sampler2D user_(\w+)/g)].map((m) => m[1]).join(',');
    const consts = [...src.matchAll(/const (?:float|int) constants_(\w+) = ([-\d.e]+)/g)].map((m) => `${m[1]}=${m[2]}`).join(' ');
    const packed = /constants_ci4/.test(src);
    const shape = packed ? (/user_w1\b/.test(src) ? (/user_ky\b/.test(src) ? 'packed conv' : 'packed conv1x1') : 'packed depthwise')
      : /kyLo/.test(src) ? 'conv' : /user_alpha/.test(src) ? 'conv1x1' : argsOf.startsWith('x0') ? 'concat' : /constants_includePad/.test(src) ? 'pool' : '';
    return `${shape}(${argsOf}) ${consts}`.trim();
  };
  // gl.finish() returns at once in Chromium (the GPU process runs the work later); a one-pixel
  // read-back waits for everything queued before it.
  const readPixels = P.readPixels;
  const pixel = new Float32Array(4);
  const bytes = new Uint8Array(4);
  const sync = (gl: WebGL2RenderingContext) => {
    const float = gl.getParameter(gl.IMPLEMENTATION_COLOR_READ_TYPE) === gl.FLOAT;
    readPixels.call(gl, 0, 0, 1, 1, gl.RGBA, float ? gl.FLOAT : gl.UNSIGNED_BYTE, float ? pixel : bytes);
    gl.getError();
  };
  const timedCall = (name: string, kind: string, labelOf?: (self: any, a: any[]) => string) => {
    const orig = P[name];
    P[name] = function (this: WebGL2RenderingContext, ...a: any[]) {
      if (!state.on) return orig.apply(this, a);
      const t0 = performance.now();
      const r = orig.apply(this, a);
      sync(this);
      state.events.push({ kind, label: labelOf ? labelOf(this, a) : name, ms: performance.now() - t0 });
      return r;
    };
  };
  const shaderSource = P.shaderSource;
  P.shaderSource = function (this: WebGL2RenderingContext, s: unknown, src: string) {
    state.shaders.set(s, src);
    return shaderSource.call(this, s, src);
  };
  const attach = P.attachShader;
  P.attachShader = function (this: WebGL2RenderingContext, p: unknown, s: unknown) {
    const src = state.shaders.get(s) ?? '';
    if (/gl_FragColor|out vec4|data0/.test(src) && /user_/.test(src)) {
      const l = label(src);
      state.labels.set(p, l);
      state.sources.set(l, src);
    }
    return attach.call(this, p, s);
  };
  const use = P.useProgram;
  P.useProgram = function (this: WebGL2RenderingContext, p: unknown) {
    state.program = p;
    return use.call(this, p);
  };
  // Work queued before a draw (uploads) is finished inside the upload's own timing.
  timedCall('drawArrays', 'shader', () => state.labels.get(state.program) ?? '(upload/copy kernel)');
  timedCall('texImage2D', 'upload', (_, a) => `texImage2D ${a[3]}x${a[4]}`);
  timedCall('texSubImage2D', 'upload', (_, a) => `texSubImage2D ${a[4]}x${a[5]}`);
  timedCall('readPixels', 'readback', (_, a) => `readPixels ${a[2]}x${a[3]}`);
  timedCall('compileShader', 'compile');
  timedCall('linkProgram', 'compile');
}

async function main(): Promise<void> {
  const missing = chromiumMissing();
  if (missing) {
    console.log(`SKIPPED: ${missing}`);
    return;
  }
  await build({ stdin: { contents: PAGE_SOURCE, resolveDir: REPO, loader: 'js' }, outfile: join(OUT, 'page.js'), bundle: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'warning', plugins: [seam] });
  const server = await startServer({ isolated: false });
  const { browser, close } = await launchChromium();
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.log(`page error: ${e}`));
    // tsx names functions with a helper the page does not have.
    await page.evaluateOnNewDocument('globalThis.__name = (f) => f;');
    await page.evaluateOnNewDocument(instrument);
    await page.goto(`${server.url}/tools/bench/browser/`);
    for (const c of CASES.filter((k) => !only || k.net.startsWith(only))) {
      const result = await page.evaluate(async (net: string, input: number[], gpuMode: string, packedFlag: string | null, module: string) => {
        const m = await import(module);
        const g = globalThis as any;
        g.nets ??= await m.nets();
        const options: Record<string, unknown> = { mode: gpuMode };
        if (packedFlag !== null) options.packed = packedFlag === '1';
        const backend = new m.GpujsBackend(options);
        const x = m.fill(input, 7);
        const state = g.profile;
        state.on = true;
        state.events = [];
        let t0 = performance.now();
        await g.nets[net].forward(backend, x);
        const coldMs = performance.now() - t0;
        const cold = state.events;
        state.on = false;
        t0 = performance.now();
        await g.nets[net].forward(backend, x);
        const warmMs = performance.now() - t0;
        state.on = true;
        state.events = [];
        t0 = performance.now();
        await g.nets[net].forward(backend, x);
        const profiledMs = performance.now() - t0;
        state.on = false;
        const events = state.events;
        await backend.dispose();
        return { coldMs, coldCompile: cold.filter((e: any) => e.kind === 'compile').reduce((s: number, e: any) => s + e.ms, 0), warmMs, profiledMs, events, report: backend.describe() };
      }, c.net, c.input, mode, packed ?? null, '/dist/gpujs-profile/page.js');
      const byKind = new Map<string, number>();
      const byLabel = new Map<string, { ms: number; calls: number }>();
      for (const e of result.events) {
        byKind.set(e.kind, (byKind.get(e.kind) ?? 0) + e.ms);
        const key = `${e.kind}: ${e.label}`;
        const v = byLabel.get(key) ?? { ms: 0, calls: 0 };
        v.ms += e.ms;
        v.calls++;
        byLabel.set(key, v);
      }
      const gl = [...byKind.values()].reduce((a, b) => a + b, 0);
      console.log(`\n${c.net} ${c.input.join('x')} (${mode}${packed ? `, packed=${packed}` : ''}; ${result.report.mode}, ${result.report.executor ?? 'op by op'}): first pass ${result.coldMs.toFixed(0)} ms (compile ${result.coldCompile.toFixed(0)}), steady ${result.warmMs.toFixed(1)} ms, profiled ${result.profiledMs.toFixed(1)} ms`);
      for (const [k, ms] of byKind) console.log(`  ${k.padEnd(10)} ${ms.toFixed(1).padStart(8)} ms  ${((100 * ms) / result.profiledMs).toFixed(0).padStart(3)}%`);
      console.log(`  ${'js'.padEnd(10)} ${(result.profiledMs - gl).toFixed(1).padStart(8)} ms  ${((100 * (result.profiledMs - gl)) / result.profiledMs).toFixed(0).padStart(3)}%  (between GL calls)`);
      for (const [k, v] of [...byLabel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12)) console.log(`    ${v.ms.toFixed(1).padStart(8)} ms ${String(v.calls).padStart(4)}x  ${k}`);
    }
    if (shaderFile) {
      const sources = await page.evaluate(() => [...(globalThis as any).profile.sources.entries()] as [string, string][]);
      writeFileSync(shaderFile, sources.map(([l, s]) => `// ===== ${l}\n${s}`).join('\n\n'));
      console.log(`\n${sources.length} fragment shaders written to ${shaderFile}`);
    }
  } finally {
    await close();
    await server.close();
  }
}

await main();
