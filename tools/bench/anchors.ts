// The engines users would pick instead, on the same nets and the same input values: tf.js
// (WebAssembly SIMD and pure-JS CPU backends, nets built from tf ops by tfjsNet.ts),
// onnxruntime-node (native code) and onnxruntime-web (WebAssembly, ortWebAnchor.ts) on ONNX files
// exported from the PyTorch references by export_onnx.py into .cache/onnx. Benchmark-only
// devDependencies; each anchor is skipped with a message when it cannot run. Every anchor gets
// the bytes tsface gets (tf.js the same values in its NHWC layout): some kernels' speed depends
// on the values.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Net } from '../../src/nets/net.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';
import { tfjsNet } from './tfjsNet.ts';
import { WARMUP } from './timing.ts';

export interface AnchorResult {
  backend: string;
  mode: string;
  threads: number;
  ms: number;
  /**
   * What the engine runs as: native machine code (AVX2/AVX-512 where the CPU has them),
   * WebAssembly, or JavaScript; absent: native (the PyTorch anchor).
   */
  engine?: 'native' | 'webassembly' | 'javascript';
  /** Anything the row should say beside its figure. */
  note?: string;
}

type Median = (fn: () => Promise<unknown>, runs: number, warmup?: number) => Promise<number>;

const ONNX_DIR = fileURLToPath(new URL('../../.cache/onnx/', import.meta.url));

/** Where export_onnx.py writes the net named `name`. */
export const onnxPath = (name: string): string => `${ONNX_DIR}${name}.onnx`;

/** An NCHW tensor's values in NHWC order (tf.js's layout). */
function toNhwc(x: Tensor): Float32Array {
  const [n, c, h, w] = x.shape;
  const out = new Float32Array(x.size);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) out[(b * h * w + p) * c + ch] = x.data[(b * c + ch) * h * w + p];
  return out;
}

/**
 * An anchor made ready to run: its session built and its input in place, so that the bench can
 * time its runs in turns with tsface's (timing.ts interleaved()).
 */
export interface AnchorRunner {
  row: Omit<AnchorResult, 'ms'>;
  run: () => Promise<unknown>;
  dispose: () => Promise<void>;
}

export async function tfjsRunner(backend: 'wasm' | 'cpu', net: Net, input: Tensor): Promise<AnchorRunner | string> {
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
  const [n, c, h, w] = input.shape;
  const x = tf.tensor4d(toNhwc(input), [n, h, w, c]);
  // In Node, tf.js WebAssembly runs one thread (its worker scripts would have to be files).
  const row = backend === 'wasm'
    ? { backend: 'tfjs-wasm', mode: 'simd', threads: 1, engine: 'webassembly' as const }
    : { backend: 'tfjs-cpu', mode: 'js', threads: 1, engine: 'javascript' as const };
  return {
    row,
    run: async () => {
      // tf.js has one active backend per process: each run makes sure it is this one.
      if (tf.getBackend() !== backend) await tf.setBackend(backend);
      const outs = tf.tidy(() => f(x));
      await Promise.all(outs.map((t) => t.data()));
      tf.dispose(outs);
    },
    dispose: async () => x.dispose(),
  };
}

/** tf.js timed alone (median of runs after the warm-up), for the slow pure-JS backend. */
export async function tfjsAnchor(backend: 'wasm' | 'cpu', net: Net, input: Tensor, runs: number, median: Median): Promise<AnchorResult | string> {
  const r = await tfjsRunner(backend, net, input);
  if (typeof r === 'string') return r;
  const ms = await median(r.run, runs, WARMUP);
  await r.dispose();
  return { ...r.row, ms };
}

export async function onnxRunner(file: string, input: Tensor, threads: number): Promise<AnchorRunner | string> {
  const path = onnxPath(file);
  if (!existsSync(path)) return `${path} missing: run /usr/bin/python3 tools/bench/export_onnx.py (needs python3-torch)`;
  let ort: typeof import('onnxruntime-node');
  try {
    ort = await import('onnxruntime-node');
  } catch (e) {
    return `onnxruntime-node did not load (${(e as Error).message})`;
  }
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: threads, interOpNumThreads: 1, executionProviders: ['cpu'] });
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input.data, [...input.shape]) };
  return {
    row: { backend: 'onnxruntime', mode: 'cpu', threads, engine: 'native' },
    run: () => session.run(feeds),
    dispose: () => session.release(),
  };
}
