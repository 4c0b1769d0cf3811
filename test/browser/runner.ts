// The page side of the browser suite (test/browser.test.ts bundles it and drives it): runs the
// op fixture, whole nets and the detector on one backend of the bundle loaded in the page, and
// hands the raw numbers back; every comparison happens in Node, with the Node suites' helpers.
import type * as Tsface from '../../src/index.ts';
import type { Backend } from '../../src/tensor/backend.ts';
import { runOpCase, type Case } from '../helpers/opRunner.ts';
import { seededValues } from '../helpers/seeded.ts';

type Lib = typeof Tsface;
export type Spec = { backend: 'cpu'; threads?: number } | { backend: 'gpujs'; mode: string };

/** Net inputs of the parity suite: name, shape, seed (the Node side rebuilds them from the same seeds). */
export const NET_INPUTS: [string, number[], number][] = [
  ['pnet', [1, 3, 31, 45], 1],
  ['rnet', [5, 3, 24, 24], 2],
  ['onet', [3, 3, 48, 48], 3],
  ['mobilefacenet', [1, 3, 112, 112], 4],
];

function base64(x: Float32Array): string {
  const bytes = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function bytesOf(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** What the defaults gave on one photo: faces from FaceDetector.create(), embeddings from FaceEmbedder.create(). */
export interface DefaultsResult {
  url: string;
  faces?: Tsface.Face[];
  embeddings?: string[];
  error?: string;
}

/**
 * FaceDetector.create() and FaceEmbedder.create() with nothing given, as a new user calls them:
 * the default backend, the bundled weights. Also what test/browser/worker.ts runs in a Web Worker.
 */
export async function runDefaults(lib: Lib, urls: string[]): Promise<{ results: DefaultsResult[]; detectorReport: Tsface.BackendReport; embedderReport: Tsface.BackendReport }> {
  const detector = await lib.FaceDetector.create();
  const embedder = await lib.FaceEmbedder.create();
  try {
    const results: DefaultsResult[] = [];
    for (const url of urls) {
      try {
        const bytes = await bytesOf(url);
        const faces = (await detector.detect(bytes)).faces;
        const embeddings = (await embedder.embed(bytes)).faces.map((f) => base64(f.embedding));
        results.push({ url, faces, embeddings });
      } catch (e) {
        results.push({ url, error: `${(e as Error)?.name}: ${(e as Error)?.message}` });
      }
    }
    return { results, detectorReport: detector.backend.describe(), embedderReport: embedder.backend.describe() };
  } finally {
    await detector.dispose();
    await embedder.dispose();
  }
}

export function createSuite(lib: Lib) {
  const runtime = (spec: Spec) =>
    spec.backend === 'cpu' ? lib.createRuntime({ backend: 'cpu', threads: spec.threads }) : lib.createRuntime({ backend: 'gpujs', gpujsMode: spec.mode as Tsface.GpujsMode });

  async function withRuntime<T>(spec: Spec, run: (backend: Backend) => Promise<T>): Promise<T & { report: Tsface.BackendReport; ms: number; workerPasses?: number }> {
    const rt = runtime(spec);
    const t0 = performance.now();
    try {
      const result = await run(rt.backend);
      // The CPU backend's whole passes run on Web Workers (none on one thread or on gpu.js).
      const workerPasses = (rt.backend as { workerPasses?: number }).workerPasses;
      return { ...result, report: rt.report(), ms: performance.now() - t0, workerPasses };
    } finally {
      await rt.dispose();
    }
  }

  return {
    defaults: (urls: string[]) => runDefaults(lib, urls),

    async ops(spec: Spec) {
      const fixture = lib.readSafetensors(await bytesOf('/test/fixtures/ops.safetensors'), 'ops.safetensors');
      const cases: Case[] = JSON.parse(fixture.metadata.cases);
      const t = (c: Case, k: string) => fixture.tensors.get(`${c.name}.${k}`)!;
      return withRuntime(spec, async (backend) => {
        const outputs: Record<string, { shape: number[]; data: string }> = {};
        const errors: Record<string, string> = {};
        for (const c of cases) {
          try {
            const y = await runOpCase(backend, c, t, lib.foldBatchNorm);
            outputs[c.name] = { shape: [...y.shape], data: base64(y.data) };
          } catch (e) {
            errors[c.name] = String((e as Error)?.stack ?? e);
          }
        }
        return { outputs, errors };
      });
    },

    async nets(spec: Spec) {
      const mtcnn = lib.loadMtcnn(await bytesOf('/dist/browser/weights/mtcnn.safetensors'));
      const mobilefacenet = lib.loadMobileFaceNet(await bytesOf('/dist/browser/weights/mobilefacenet.safetensors'));
      const nets: Record<string, Tsface.Net> = { ...mtcnn, mobilefacenet };
      return withRuntime(spec, async (backend) => {
        const outputs: Record<string, { shape: number[]; data: string }> = {};
        for (const [name, shape, seed] of NET_INPUTS) {
          const x = new lib.Tensor(shape, seededValues(shape.reduce((a, b) => a * b, 1), seed));
          const y = await nets[name].forward(backend, x);
          for (const [head, t] of Object.entries(y)) outputs[`${name}.${head}`] = { shape: [...t.shape], data: base64(t.data) };
        }
        return { outputs };
      });
    },

    async detect(spec: Spec, urls: string[], repeat = 1) {
      return withRuntime(spec, async (backend) => {
        const detector = await lib.FaceDetector.create({ backend });
        const results: { url: string; ms: number[]; faces?: Tsface.Face[]; error?: string }[] = [];
        for (const url of urls) {
          const ms: number[] = [];
          try {
            const bytes = await bytesOf(url);
            let faces: Tsface.Face[] = [];
            for (let r = 0; r < repeat; r++) {
              const t0 = performance.now();
              faces = (await detector.detect(bytes)).faces;
              ms.push(performance.now() - t0);
            }
            results.push({ url, ms, faces });
          } catch (e) {
            results.push({ url, ms, error: `${(e as Error)?.name}: ${(e as Error)?.message}` });
          }
        }
        return { results };
      });
    },
  };
}

export type Suite = ReturnType<typeof createSuite>;
