// The engines users would pick instead, on the same nets and inputs: tf.js (WebAssembly SIMD and
// pure-JS CPU backends, nets built from tf ops by tfjsNet.ts) and onnxruntime-node (ONNX files
// exported from the PyTorch references by export_onnx.py into .cache/onnx). Benchmark-only
// devDependencies; each anchor is skipped with a message when it cannot run.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Net } from '../../src/nets/net.ts';
import { tfjsNet } from './tfjsNet.ts';
import { WARMUP } from './timing.ts';

export interface AnchorResult {
  backend: string;
  mode: string;
  threads: number;
  ms: number;
}

type Median = (fn: () => Promise<unknown>, runs: number, warmup?: number) => Promise<number>;

const ONNX_DIR = fileURLToPath(new URL('../../.cache/onnx/', import.meta.url));

export async function tfjsAnchor(backend: 'wasm' | 'cpu', net: Net, nchw: number[], runs: number, median: Median): Promise<AnchorResult | string> {
  let tf: typeof import('@tensorflow/tfjs-core');
  try {
    tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-cpu');
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(fileURLToPath(new URL('../../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url)));
  } catch (e) {
    return `tf.js not installed (${(e as Error).message})`;
  }
  if (!(await tf.setBackend(backend))) return `tf.js ${backend} backend did not initialise`;
  await tf.ready();
  const f = tfjsNet(tf as Parameters<typeof tfjsNet>[0], net);
  const [n, c, h, w] = nchw;
  const x = tf.randomUniform([n, h, w, c]) as import('@tensorflow/tfjs-core').Tensor4D;
  const run = async () => {
    const outs = tf.tidy(() => f(x));
    await Promise.all(outs.map((t) => t.data()));
    tf.dispose(outs);
  };
  const ms = await median(run, runs, WARMUP);
  x.dispose();
  // In Node, tf.js WebAssembly runs one thread (its worker scripts would have to be files).
  return { backend: backend === 'wasm' ? 'tfjs-wasm' : 'tfjs-cpu', mode: backend === 'wasm' ? 'simd' : 'js', threads: 1, ms };
}

export async function onnxAnchor(file: string, nchw: number[], threads: number, runs: number, median: Median): Promise<AnchorResult | string> {
  const path = `${ONNX_DIR}${file}.onnx`;
  if (!existsSync(path)) return `${path} missing: run /usr/bin/python3 tools/bench/export_onnx.py (needs python3-torch)`;
  let ort: typeof import('onnxruntime-node');
  try {
    ort = await import('onnxruntime-node');
  } catch (e) {
    return `onnxruntime-node did not load (${(e as Error).message})`;
  }
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: threads, interOpNumThreads: 1, executionProviders: ['cpu'] });
  const size = nchw.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size).map((_, i) => Math.sin(i));
  const input = new ort.Tensor('float32', data, nchw);
  const ms = await median(() => session.run({ input }), runs, WARMUP);
  await session.release();
  return { backend: 'onnxruntime', mode: 'cpu', threads, ms };
}
