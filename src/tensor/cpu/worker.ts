// A worker thread of the CPU backend: runs a share of a kernel's tasks on shared memory.
import { kernelWorkerPort } from '../../platform/index.ts';
import type { Window2d } from '../geometry.ts';
import { convReduction, convTasks, depthwiseTasks, type ConvPlan } from './conv2d.ts';
import { softmaxChannels } from './pointwise.ts';
import { simdDenseGroups } from './simdDense.ts';
import { simdMaxPool2d } from './simdPool.ts';
import { takeShares } from './threadPool.ts';

export interface ConvJob {
  id: number;
  kind: 'conv' | 'depthwise';
  plan: ConvPlan;
  x: Float32Array;
  weights: Float32Array;
  bias: Float32Array | null;
  alpha: Float32Array | null;
  out: Float32Array;
}

/** Max pooling of planes, shared out like a conv's tasks. */
export interface MaxPoolJob {
  id: number;
  kind: 'maxPool';
  window: Window2d;
  x: Float32Array;
  out: Float32Array;
}

/** Softmax over channels of positions (item, pixel), shared out like a conv's tasks. */
export interface SoftmaxJob {
  id: number;
  kind: 'softmax';
  x: Float32Array;
  out: Float32Array;
  n: number;
  c: number;
  plane: number;
  rows: boolean;
}

/** A fully connected layer, shared out by groups of batch items (simdDense.ts). */
export interface DenseJob {
  id: number;
  kind: 'dense';
  x: Float32Array;
  /** Weight rows packed by packedDenseRows. */
  weights: Float32Array;
  bias: Float32Array | null;
  n: number;
  f: number;
  o: number;
  out: Float32Array;
}

/** How a job's tasks are shared out (see takeShares): filled in by the pool. */
export interface Sharing {
  counter: Int32Array;
  grain: number;
  spread: number;
  total: number;
}

export type Job = (ConvJob | MaxPoolJob | SoftmaxJob | DenseJob) & Sharing;

let scratch = new Float32Array(0);

const port = kernelWorkerPort();

port?.onMessage((message) => {
  const job = message as Job;
  try {
    takeShares(job, (from, to) => {
      if (job.kind === 'dense') {
        simdDenseGroups(job.x, job.weights, job.bias, job.n, job.f, job.o, job.out, from, to);
      } else if (job.kind === 'softmax') {
        softmaxChannels(job.x, job.n, job.c, job.plane, job.out, job.rows, from, to);
      } else if (job.kind === 'maxPool') {
        simdMaxPool2d(job.window, job.x, job.out, from, to);
      } else if (job.kind === 'depthwise') {
        depthwiseTasks(job.plan, job.x, job.weights, job.bias, job.out, job.alpha, from, to);
      } else {
        const need = job.plan.chunk * convReduction(job.plan);
        if (scratch.length < need) scratch = new Float32Array(need);
        convTasks(job.plan, job.x, job.weights, job.bias, job.out, scratch, job.alpha, from, to);
      }
    });
    port!.post({ id: job.id, ok: true });
  } catch (e) {
    port!.post({ id: job.id, ok: false, message: String((e as Error)?.stack ?? e) });
  }
});
