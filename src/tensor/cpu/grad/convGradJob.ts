// A conv backward kernel's share of tasks, run alike on the calling thread and on workers.
import { conv2dInputGradTasks, conv2dWeightGradTasks } from './convGemm.ts';
import type { ConvGeometry } from '../../geometry.ts';
import { depthwiseInputGradTasks, depthwiseWeightGradTasks } from './depthwise.ts';

/**
 * Which product: 'input' (dx; a = dy, b = weight), 'weight' (dW partials; a = x, b = dy, out =
 * the tasks' partials of `pixels` pixels each), and their depthwise forms (tasks: planes for
 * dx, channels for dW).
 */
export interface ConvGradJob {
  id: number;
  kind: 'convGrad';
  part: 'input' | 'weight' | 'depthwiseInput' | 'depthwiseWeight';
  plan: ConvGeometry;
  a: Float32Array;
  b: Float32Array;
  out: Float32Array;
  pixels: number;
  fma: boolean;
}

export function runConvGradTasks(job: Omit<ConvGradJob, 'id' | 'kind'>, from: number, to: number): void {
  const { plan, a, b, out } = job;
  if (job.part === 'input') conv2dInputGradTasks(plan, a, b, out, from, to, job.fma);
  else if (job.part === 'weight') conv2dWeightGradTasks(plan, a, b, out, job.pixels, from, to, job.fma);
  else if (job.part === 'depthwiseInput') depthwiseInputGradTasks(plan, a, b, out, from, to);
  else depthwiseWeightGradTasks(plan, a, b, out, from, to);
}
