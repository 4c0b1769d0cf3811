// The page side of the backward-op parity check: every case of the torch.autograd fixture
// (tools/reference/backward_ops.py) on one backend of the bundle loaded in the page (the CPU
// backend, or one gpu.js mode). The raw gradients go back to Node, which holds them to
// test/backward-parity.test.ts's rule (compareGradients); nothing is compared here.
// backwardRunner.ts is the node-free half of the Node suites' helper, so the page runs the very
// same case code.
import type * as Tsface from '../../src/index.ts';
import { runBackwardCaseWith, type BackwardCase } from '../helpers/backwardRunner.ts';
import type { Spec } from './runner.ts';

type Lib = typeof Tsface;

/** A tensor as it crosses page.evaluate: its shape and its float32 bytes in base64. */
export interface EncodedTensor {
  shape: number[];
  data: string;
}

export interface BackwardPageResult {
  /** Case name -> gradient key (dx, dweight...) -> gradient. */
  gradients: Record<string, Record<string, EncodedTensor>>;
  /** Case name -> what it threw. */
  errors: Record<string, string>;
  report: Tsface.BackendReport;
  ms: number;
}

function encode(t: Tsface.Tensor): EncodedTensor {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { shape: [...t.shape], data: btoa(s) };
}

/** Runs every backward case on the backend `spec` names, in this page. */
export async function runBackwardFixture(lib: Lib, spec: Spec): Promise<BackwardPageResult> {
  const response = await fetch('/test/fixtures/backward_ops.safetensors');
  if (!response.ok) throw new Error(`backward_ops.safetensors: HTTP ${response.status}`);
  const fixture = lib.readSafetensors(new Uint8Array(await response.arrayBuffer()), 'backward_ops.safetensors');
  const cases: BackwardCase[] = JSON.parse(fixture.metadata.cases);
  const t = (c: BackwardCase, key: string) => {
    const tensor = fixture.tensors.get(`${c.name}.${key}`);
    if (!tensor) throw new Error(`backward fixture has no ${c.name}.${key}`);
    return tensor;
  };
  const runtime = spec.backend === 'cpu'
    ? lib.createRuntime({ backend: 'cpu', threads: spec.threads })
    : lib.createRuntime({ backend: 'gpujs', gpujsMode: spec.mode as Tsface.GpujsMode });
  const t0 = performance.now();
  try {
    const gradients: BackwardPageResult['gradients'] = {};
    const errors: Record<string, string> = {};
    for (const c of cases) {
      try {
        const got = await runBackwardCaseWith(runtime.backend, c, t);
        gradients[c.name] = Object.fromEntries(Object.entries(got).map(([key, g]) => [key, encode(g)]));
      } catch (e) {
        errors[c.name] = String((e as Error)?.stack ?? e);
      }
    }
    return { gradients, errors, report: runtime.report(), ms: performance.now() - t0 };
  } finally {
    await runtime.dispose();
  }
}
