// A worker thread of the CPU backend: runs a share of a kernel's tasks on shared memory.
import { kernelWorkerPort } from '../../platform/index.ts';
import type { Window2d } from '../geometry.ts';
import { convReduction, convTasks, depthwiseTasks, type ConvPlan } from './conv2d.ts';
import { runConvGradTasks, type ConvGradJob } from './grad/convGradJob.ts';
import { softmaxChannels, softmaxChannelsScalar } from './pointwise.ts';
import { simdDenseGroups } from './simdDense.ts';
import { simdMaxPool2d } from './simdPool.ts';
import { takeShares } from './threadPool.ts';
import { CpuBackend } from './backend.ts';
import { replayPass, type Tape } from './passTape.ts';
import { Tensor } from '../tensor.ts';
import type { Job, ModulesMessage, PassJob, PassResult, TapeMessage } from './jobs.ts';
import { adoptModules } from './wasm.ts';
import { isSharedMemory } from '../../platform/sharedMemory.ts';
import { MailboxServer, type SpinMessage } from './handoff.ts';
import { convSliceTasks } from './convSlices.ts';

let scratch = new Float32Array(0);

/** Released buffers the worker keeps for its next pass. */
const WORKER_SPARE_BYTES = 64 * 2 ** 20;

const port = kernelWorkerPort();

/** Tapes by id, with the single-threaded backend that replays them (made with the first tape). */
const tapes = new Map<number, { tape: Tape; constants: Tensor[] }>();
let passBackend: CpuBackend | null = null;

async function runPass(job: PassJob): Promise<void> {
  try {
    const recorded = tapes.get(job.tapeId);
    if (!recorded || !passBackend) throw new Error(`no tape ${job.tapeId}`);
    const pass = passBackend;
    for (const spare of job.spares) pass.release(new Tensor([spare.byteLength / 4], new Float32Array(spare)));
    const out = await pass.inPass(() => replayPass(pass, recorded.tape, recorded.constants, new Tensor(job.shape, job.x)));
    // The input (moved here, or a copy the message made) goes back for the caller's pool, and
    // outputs that own their buffers go as they are, the others as copies: nothing of the pass
    // is left here to collect.
    const input = job.x.byteOffset === 0 && !isSharedMemory(job.x.buffer) ? job.x.buffer : null;
    const transfer = new Set<ArrayBuffer>(input ? [input] : []);
    const result: PassResult = { outputs: {}, input };
    for (const [name, t] of Object.entries(out)) {
      let moved = transfer.has(t.data.buffer as ArrayBuffer) ? null : pass.transferable(t);
      let data = t.data;
      if (!moved) {
        data = t.data.slice();
        moved = data.buffer as ArrayBuffer;
        pass.release(t);
      }
      transfer.add(moved);
      result.outputs[name] = { shape: [...t.shape], data };
    }
    port!.post({ id: job.id, ok: true, result }, [...transfer]);
  } catch (e) {
    port!.post({ id: job.id, ok: false, message: String((e as Error)?.stack ?? e) });
  }
}

/** This worker's share of a job's tasks, taken from its counter until none is left. */
function runShares(job: Job): void {
  takeShares(job, (from, to) => {
    if (job.kind === 'convGrad') {
      runConvGradTasks(job, from, to);
    } else if (job.kind === 'dense') {
      simdDenseGroups(job.x, job.weights, job.bias, job.n, job.f, job.o, job.out, from, to, job.fma);
    } else if (job.kind === 'softmax') {
      (job.simd ? softmaxChannels : softmaxChannelsScalar)(job.x, job.n, job.c, job.plane, job.out, job.rows, from, to);
    } else if (job.kind === 'maxPool') {
      simdMaxPool2d(job.window, job.x, job.out, from, to);
    } else if (job.kind === 'depthwise') {
      depthwiseTasks(job.plan, job.x, job.weights, job.bias, job.out, job.alpha, from, to);
    } else if (job.kind === 'convSlices') {
      convSliceTasks(job.plan, job.bounds, job.x, job.weights, job.bias, job.out, scratch, job.alpha, from, to);
    } else {
      const need = job.plan.chunk * convReduction(job.plan);
      if (scratch.length < need) scratch = new Float32Array(need);
      convTasks(job.plan, job.x, job.weights, job.bias, job.out, scratch, job.alpha, from, to);
    }
  });
}

/** The mailbox of the spin hand-off (handoff.ts), once the pool has sent it. */
let mailbox: MailboxServer | null = null;

/** Messages received so far (the mailbox compares them with the pool's count of those posted). */
let received = 0;

port?.onMessage((message) => {
  received++;
  const m = message as Job | TapeMessage | PassJob | SpinMessage | ModulesMessage;
  if (m.kind === 'modules') {
    adoptModules(m.modules);
    return;
  }
  if (m.kind === 'spin') {
    if (m.mailbox) mailbox = new MailboxServer(m.mailbox, runShares, (f) => port!.post(f), () => received);
    mailbox?.receive(m);
    mailbox?.serve();
    return;
  }
  if (m.kind === 'tape') {
    // The worker keeps a smaller pool of released buffers than the calling thread: it holds one
    // pass's working set at a time, and its pool adds to the process's peak memory.
    passBackend ??= new CpuBackend({ threads: 1, simd: m.simd, winograd: m.winograd, winogradTile: m.winogradTile, fma: m.fma, poolInConv: m.poolInConv, firstConv: m.firstConv, spareBytes: WORKER_SPARE_BYTES });
    tapes.set(m.tapeId, { tape: m.tape, constants: m.constants.map((c) => new Tensor(c.shape, c.data)) });
    return;
  }
  if (m.kind === 'pass') {
    void runPass(m);
    return;
  }
  const job = m;
  try {
    runShares(job);
    port!.post({ id: job.id, ok: true });
  } catch (e) {
    port!.post({ id: job.id, ok: false, message: String((e as Error)?.stack ?? e) });
  }
});
