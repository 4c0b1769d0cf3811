// One net case timed on a tsface backend, the same code in the page (page.ts) and in Node
// (nodeRows.ts), so the two sides' rows differ only in where they ran.
import type { Backend } from '../../../src/tensor/backend.ts';
import type { Net } from '../../../src/nets/net.ts';
import { random } from '../random.ts';
import { middle, timed } from '../timing.ts';
import type { Plan } from './cases.ts';

export interface NetTiming {
  ms: number;
  times: number[];
  input: number[];
  gflops: number;
}


/** Speed does not depend on weight values: nn4.small2 has no bundled weights, so it gets seeded ones. */
export function seeded(net: Net): Net {
  const tensors = new Map(net.expectedTensors().map((e, k) => [e.name, random([...e.shape], 100 + k)]));
  return net.load(tensors, 'seeded');
}

/** A net's passes over `input` timed as `times`: their median and GFLOP/s (the net's own multiply-add count). */
export function netTiming(net: Net, input: number[], times: number[]): NetTiming {
  const macs = net.describe(input.slice(1)).reduce((s, r) => s + r.macs, 0) * input[0];
  const ms = middle(times);
  return { ms, times, input, gflops: (2 * macs) / ms / 1e6 };
}

/** The plan's warm-up passes, then its timed ones, on the same seeded input everywhere. */
export async function timeNet(backend: Backend, net: Net, plan: Plan): Promise<NetTiming> {
  const x = random(plan.input, 7);
  return netTiming(net, plan.input, await timed(() => net.forward(backend, x), plan.warmup, plan.runs, plan.warmupMs));
}
