// Node side: bundles the bench's page module (tools/bench/browser/page.ts) for the browser. Any
// import that lands in tsface's src/ becomes an import of the browser build, /dist/browser/tsface.js,
// left for the page to load: the bench then times the bundle users get, and tfjsNet.ts's
// `instanceof` checks see the very layer classes the bundle's nets are made of.
import { build, type Plugin } from 'esbuild';
import { join, resolve, sep } from 'node:path';
import { REPO } from '../../web/server.ts';

export const PAGE_MODULE = '/dist/browser-bench/page.js';
/** The cold-start rows' page module: it loads the tsface bundle itself, timed (cold.ts). */
export const COLD_MODULE = '/dist/browser-bench/cold.js';
/** The anchors' page module: face-api or human with its own tf.js (anchor.ts). */
export const ANCHOR_MODULE = '/dist/browser-bench/anchor.js';
const TSFACE_BUNDLE = '/dist/browser/tsface.js';

const tsfaceFromBundle: Plugin = {
  name: 'tsface-from-bundle',
  setup(b) {
    const src = join(REPO, 'src') + sep;
    b.onResolve({ filter: /^\.\.?\// }, (args) => (resolve(args.resolveDir, args.path).startsWith(src) ? { path: TSFACE_BUNDLE, external: true } : undefined));
  },
};

export async function bundlePage(): Promise<void> {
  await build({
    entryPoints: ['page', 'cold', 'workerHooks', 'anchor'].map((name) => join(REPO, 'tools', 'bench', 'browser', `${name}.ts`)),
    outdir: join(REPO, PAGE_MODULE.slice(1, PAGE_MODULE.lastIndexOf('/'))),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'warning',
    plugins: [tsfaceFromBundle],
  });
}
