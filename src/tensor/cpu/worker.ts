// A worker thread of the CPU backend: runs a share of a kernel's tasks on shared memory.
import { parentPort } from 'node:worker_threads';
import type { Window2d } from '../geometry.ts';
import { convReduction, convTasks, depthwiseTasks, type ConvPlan } from './conv2d.ts';
import { simdMaxPool2d } from './simdPool.ts';

export interface ConvJob {
  id: number;
  kind: 'conv' | 'depthwise';
  plan: ConvPlan;
  x: Float32Array;
  weights: Float32Array;
  bias: Float32Array | null;
  alpha: Float32Array | null;
  out: Float32Array;
  from: number;
  to: number;
}

/** Max pooling of planes [from, to). */
export interface MaxPoolJob {
  id: number;
  kind: 'maxPool';
  window: Window2d;
  x: Float32Array;
  out: Float32Array;
  from: number;
  to: number;
}

export type Job = ConvJob | MaxPoolJob;

let scratch = new Float32Array(0);

parentPort?.on('message', (job: Job) => {
  try {
    if (job.kind === 'maxPool') {
      simdMaxPool2d(job.window, job.x, job.out, job.from, job.to);
    } else if (job.kind === 'depthwise') {
      depthwiseTasks(job.plan, job.x, job.weights, job.bias, job.out, job.alpha, job.from, job.to);
    } else {
      const need = job.plan.chunk * convReduction(job.plan);
      if (scratch.length < need) scratch = new Float32Array(need);
      convTasks(job.plan, job.x, job.weights, job.bias, job.out, scratch, job.alpha, job.from, job.to);
    }
    parentPort!.postMessage({ id: job.id, ok: true });
  } catch (e) {
    parentPort!.postMessage({ id: job.id, ok: false, message: String((e as Error)?.stack ?? e) });
  }
});
