// onnxruntime-web (WebAssembly, SIMD) as a bench anchor: what a page would run instead of tsface,
// on the ONNX files the onnxruntime-node anchor uses (export_onnx.py) and the same input bytes.
// One worker thread per thread count (ortWebWorker.ts), started on first use and kept for the
// run, so each count has its own module instance as the engine requires.
import { existsSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { startNodeWorker } from '../../src/platform/node.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';
import type { AnchorRunner } from './anchors.ts';

const workers = new Map<number, Promise<Worker | string>>();

function ask(worker: Worker, message: unknown, transfer: ArrayBuffer[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { error?: string }) => {
      worker.off('error', onError);
      if (m.error) reject(new Error(m.error));
      else resolve();
    };
    const onError = (e: Error) => {
      worker.off('message', onMessage);
      reject(e);
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
    worker.postMessage(message, transfer);
  });
}

function workerFor(threads: number): Promise<Worker | string> {
  let w = workers.get(threads);
  if (!w) {
    w = (async () => {
      const worker = startNodeWorker(new URL('./ortWebWorker', import.meta.url));
      try {
        await ask(worker, { threads });
        return worker;
      } catch (e) {
        await worker.terminate();
        return `onnxruntime-web did not start (${(e as Error).message})`;
      }
    })();
    workers.set(threads, w);
  }
  return w;
}

/** `onnxFile` loaded on `threads` WebAssembly threads with `x` as its input, or why not. */
export async function ortWebRunner(onnxFile: string, x: Tensor, threads: number): Promise<AnchorRunner | string> {
  if (!existsSync(onnxFile)) return `${onnxFile} missing: run /usr/bin/python3 tools/bench/export_onnx.py (needs python3-torch)`;
  const worker = await workerFor(threads);
  if (typeof worker === 'string') return worker;
  // A copy, handed over: the caller's tensor stays whole for the other engines.
  const data = x.data.slice();
  try {
    await ask(worker, { load: onnxFile, shape: [...x.shape], data }, [data.buffer]);
  } catch (e) {
    return `onnxruntime-web could not load ${onnxFile} (${(e as Error).message})`;
  }
  return {
    row: { backend: 'onnxruntime-web', mode: 'wasm-simd', threads, engine: 'webassembly' },
    run: () => ask(worker, { run: true }),
    dispose: () => ask(worker, { release: true }),
  };
}

export async function closeOrtWeb(): Promise<void> {
  for (const w of workers.values()) {
    const worker = await w;
    if (typeof worker !== 'string') await worker.terminate();
  }
  workers.clear();
}
