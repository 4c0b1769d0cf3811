// Page side: the tf.js anchors. One backend per page (tf.js keeps one engine per page, and the
// WebAssembly backend fixes its thread count when it starts), the nets built from tf ops by
// tools/bench/tfjsNet.ts exactly as the Node bench builds them.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { Net } from '../../../src/nets/net.ts';
import { tfjsNet } from '../tfjsNet.ts';

export type TfjsBackend = 'webgl' | 'webgpu' | 'wasm';

/** The .wasm files, straight from the installed package (the bench server serves the repository). */
const WASM_DIR = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';

export interface TfjsSetup {
  backend: TfjsBackend;
  /** wasm: 'simd' or 'threaded-simd'; GL backends: their name. */
  mode: string;
  threads: number;
}

export async function startTfjs(backend: TfjsBackend, threads: number): Promise<TfjsSetup> {
  if (backend === 'wasm') {
    setWasmPaths(new URL(WASM_DIR, location.href).href);
    setThreadsCount(threads);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tf.js ${backend} backend did not initialise`);
  await tf.ready();
  if (backend !== 'wasm') return { backend, mode: backend, threads: 1 };
  const threaded = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { backend, mode: `${threaded ? 'threaded-' : ''}${simd ? 'simd' : 'scalar'}`, threads: getThreadsCount() };
}

/** A forward of `net` on a batch of NHWC noise, resolved once every output is read back. */
export function tfjsForward(net: Net, nchw: number[]): { run: () => Promise<void>; dispose: () => void } {
  const f = tfjsNet(tf, net);
  const [n, c, h, w] = nchw;
  const x = tf.randomUniform([n, h, w, c], -0.5, 0.5) as tf.Tensor4D;
  return {
    run: async () => {
      const outs = tf.tidy(() => f(x));
      await Promise.all(outs.map((t) => t.data()));
      tf.dispose(outs);
    },
    dispose: () => x.dispose(),
  };
}
