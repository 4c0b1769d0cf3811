// Node side: the browser bench's net cases on tsface's CPU backend in this Node process, with the
// page's nets (the bundled MTCNN and MobileFaceNet weights, nn4.small2 seeded alike), inputs and
// warm-up, so that each page row has a Node row of the same kernels on the same machine beside it.
import { createRuntime, type Runtime } from '../../../src/runtime.ts';
import { Nn4Small2 } from '../../../src/nets/facenet.ts';
import type { Net } from '../../../src/nets/net.ts';
import { loadMobileFaceNet, loadMtcnn } from '../../../src/nets/weights.ts';
import type { NetName, Plan } from './cases.ts';
import { seeded, timeNet, type NetTiming } from './netTiming.ts';

let nets: Record<NetName, Net> | null = null;
const runtimes = new Map<number, Runtime>();

/** The case's net on a CPU runtime of `threads` threads in this process, kept for the next case. */
export async function nodeNetCase(net: NetName, plan: Plan, threads: number): Promise<NetTiming & { mode: string }> {
  nets ??= { ...loadMtcnn(), mobilefacenet: loadMobileFaceNet(), nn4small2: seeded(Nn4Small2({ batchNorm: false })) };
  let runtime = runtimes.get(threads);
  if (!runtime) runtimes.set(threads, (runtime = createRuntime({ backend: 'cpu', threads })));
  return { ...(await timeNet(runtime.backend, nets[net], plan)), mode: runtime.report().mode };
}

export async function disposeNodeRuntimes(): Promise<void> {
  for (const r of runtimes.values()) await r.dispose();
  runtimes.clear();
}
