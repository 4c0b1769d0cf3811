// One onnxruntime-web instance (WebAssembly backend) at a fixed thread count, in its own worker
// thread: numThreads is read once, when the module's WebAssembly starts, so each thread count the
// bench compares needs its own module instance. The main thread times each run from its request
// to the reply (a message each way, well under a millisecond, against runs of 10 ms and more),
// so this engine takes its turns with the others (timing.ts interleaved()).
// Protocol: { threads } -> { ready }; { load, shape, data } -> { loaded }; { run } -> { ran };
// { release } -> { released }; a failure -> { error }.
import { parentPort } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

type Ort = typeof import('onnxruntime-web');
type Message = { threads: number } | { load: string; shape: number[]; data: Float32Array } | { run: true } | { release: true };

const port = parentPort!;
let ort: Ort | null = null;
let loaded: { session: import('onnxruntime-web').InferenceSession; feeds: Record<string, import('onnxruntime-web').Tensor> } | null = null;

async function handle(m: Message): Promise<object> {
  if ('threads' in m) {
    ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = m.threads;
    ort.env.wasm.simd = true;
    // The .wasm files beside the module, read from disk.
    ort.env.wasm.wasmPaths = fileURLToPath(new URL('../../node_modules/onnxruntime-web/dist/', import.meta.url));
    return { ready: true };
  }
  if ('load' in m) {
    await loaded?.session.release();
    const session = await ort!.InferenceSession.create(m.load, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    loaded = { session, feeds: { [session.inputNames[0]]: new ort!.Tensor('float32', m.data, m.shape) } };
    return { loaded: true };
  }
  if ('run' in m) {
    const out = await loaded!.session.run(loaded!.feeds);
    for (const t of Object.values(out)) t.dispose();
    return { ran: true };
  }
  await loaded?.session.release();
  loaded = null;
  return { released: true };
}

port.on('message', (m: Message) => {
  handle(m).then((r) => port.postMessage(r), (e: Error) => port.postMessage({ error: e.message }));
});
