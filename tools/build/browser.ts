// The browser build: dist/browser/tsface.js (one ES module, the same API as the Node entry),
// dist/browser/worker.js (the CPU backend's kernel worker) and the bundled weights beside them in
// dist/browser/weights/, found by the bundle with fetch(new URL(..., import.meta.url)).
//
// Two things change on the way: src/platform/node.ts becomes src/platform/browser.ts (the one
// seam between hosts), and every Node built-in module becomes a stand-in whose functions throw a
// PlatformError, so the Node-only corners of the API (paths, files, fetching weights from GitHub)
// fail with a clear message in a page instead of breaking the bundle.
//
// The kernel worker runs only the CPU backend's kernels, so its build stands gpu.js in with a
// stub: the worker stays a few hundred KiB instead of carrying a second 1.2 MB copy of gpu.js's
// browser build, which the page's bundle keeps inside it as before.
//
// The weights are copied here from weights/ with their README (provenance, licences); the npm
// package ships this folder only, and the Node API finds its weights in it too
// (src/platform/node.ts), so they ship once.
import { build, type Plugin } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'dist', 'browser');
const errors = join(root, 'src', 'errors.ts');

/**
 * npm packages that only make sense in Node (PNG files written to disk, the Redis queue): stood
 * in for like the built-ins, so the page never loads their Node-only internals.
 */
const NODE_ONLY_PACKAGES = /^(pngjs|bullmq|ioredis|onnxruntime-node)$/;

const platformSeam: Plugin = {
  name: 'tsface-platform',
  setup(b) {
    const seam = join(root, 'src', 'platform', 'node.ts');
    b.onResolve({ filter: /node\.ts$/ }, (args) => (join(args.resolveDir, args.path) === seam ? { path: join(root, 'src', 'platform', 'browser.ts') } : undefined));
    const builtins = new RegExp(`^(node:.*|${builtinModules.map((m) => m.replace(/[/]/g, '\\/')).join('|')})$`);
    b.onResolve({ filter: builtins }, (args) => ({ path: `node:${args.path.replace(/^node:/, '')}`, namespace: 'node-only' }));
    b.onResolve({ filter: NODE_ONLY_PACKAGES }, (args) => ({ path: args.path, namespace: 'node-only' }));
    b.onLoad({ filter: /.*/, namespace: 'node-only' }, async (args) => {
      const real = await import(args.path);
      const names = Object.keys(real).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k));
      const lines = [
        `import { PlatformError } from ${JSON.stringify(errors)};`,
        `const unavailable = (name) => function () { throw new PlatformError(\`\${name} is Node only: not available in a page\`); };`,
        ...names.map((k) => `export const ${k} = unavailable(${JSON.stringify(`${args.path} ${k}`)});`),
        `export default {};`,
      ];
      return { contents: lines.join('\n'), loader: 'js', resolveDir: root };
    });
  },
};

/** gpu.js inside the kernel worker, which never builds a GPU backend: a stub that says so if asked. */
const noGpuJs: Plugin = {
  name: 'tsface-worker-no-gpujs',
  setup(b) {
    b.onResolve({ filter: /^gpu\.js$/ }, () => ({ path: 'gpu.js', namespace: 'worker-no-gpujs' }));
    b.onLoad({ filter: /.*/, namespace: 'worker-no-gpujs' }, () => ({
      contents: [
        `import { PlatformError } from ${JSON.stringify(errors)};`,
        `export default { get GPU() { throw new PlatformError('gpu.js is not loaded in the kernel worker: the gpujs backend runs on the page'); } };`,
      ].join('\n'),
      loader: 'js',
      resolveDir: root,
    }));
  },
};

export async function buildBrowser(): Promise<{ files: Record<string, number> }> {
  rmSync(out, { recursive: true, force: true });
  const common = { outdir: out, bundle: true, format: 'esm', platform: 'browser', target: 'es2022', sourcemap: true, minifyWhitespace: true, legalComments: 'none', logLevel: 'warning' } as const;
  await build({ ...common, entryPoints: { tsface: join(root, 'src', 'index.ts') }, plugins: [platformSeam] });
  await build({ ...common, entryPoints: { worker: join(root, 'src', 'tensor', 'cpu', 'worker.ts') }, plugins: [noGpuJs, platformSeam] });
  mkdirSync(join(out, 'weights'), { recursive: true });
  for (const name of readdirSync(join(root, 'weights'))) {
    if (name.endsWith('.safetensors') || name === 'README.md') copyFileSync(join(root, 'weights', name), join(out, 'weights', name));
  }
  for (const name of ['tsface.js', 'worker.js']) {
    const text = readFileSync(join(out, name), 'utf8');
    const leak = /(?:from\s*|import\s*\(\s*|require\s*\(\s*)["']node:/.exec(text);
    if (leak) throw new Error(`dist/browser/${name} still imports a node: module near ${JSON.stringify(text.slice(leak.index, leak.index + 60))}`);
  }
  const files: Record<string, number> = {};
  const walk = (dir: string, rel = '') => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p, `${rel}${name}/`);
      else files[`${rel}${name}`] = statSync(p).size;
    }
  };
  walk(out);
  return { files };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { files } = await buildBrowser();
  for (const [name, size] of Object.entries(files)) if (!name.endsWith('.map')) console.log(`dist/browser/${name}  ${(size / 1024).toFixed(0)} KiB`);
}
