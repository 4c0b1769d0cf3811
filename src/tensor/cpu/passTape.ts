// A forward pass written down as the backend calls it made, so that a worker thread can run the
// same pass without the net's layer objects (which cannot cross threads): each step names the op,
// its tensors as references (the pass input, an earlier step's output, or a constant such as a
// weight) and its options as plain data. The layers compute nothing from the input's shape, so one
// tape serves every batch size and spatial size of the same net.
import type { Backend, GraphForward } from '../backend.ts';
import { Tensor } from '../tensor.ts';

/** The ops a tape may hold: every Backend op a layer calls, and release. */
const RECORDED = [
  'conv2d', 'relu', 'prelu', 'maxPool2d', 'avgPool2d', 'l2Pool2d', 'lrn', 'batchNorm', 'dense',
  'softmax', 'concat', 'add', 'l2Normalize', 'pad2d', 'release',
] as const;
type RecordedOp = (typeof RECORDED)[number];

/** A tensor argument: a step's output (the pass input is value 0) or a constant. */
type Ref = { value: number } | { constant: number };
/** An argument as plain data, tensors replaced by references. */
type Arg = Ref | number | string | boolean | null | undefined | Arg[] | { [key: string]: Arg };

export interface TapeStep {
  op: RecordedOp;
  args: Arg[];
  /** The value number of the output (absent for release). */
  out?: number;
}

export interface Tape {
  steps: TapeStep[];
  /** Output value numbers by head name. */
  outputs: Record<string, number>;
}

export interface RecordedPass {
  tape: Tape;
  /** Tensors the tape refers to by `constant` index: weights, biases, slopes. */
  constants: Tensor[];
}

/** Thrown inside a recording when the pass does something a tape cannot hold. */
export class NotRecordable extends Error {}

/**
 * Runs `forward` on `backend` and returns its outputs with the tape of what it did, or
 * `tape: null` when the pass cannot be replayed elsewhere (an op outside RECORDED, a view of an
 * intermediate): the outputs are right either way.
 */
export async function recordPass(backend: Backend, forward: GraphForward, x: Tensor): Promise<{ out: Record<string, Tensor>; pass: RecordedPass | null }> {
  const values = new Map<Tensor, number>([[x, 0]]);
  const buffers = new Set<ArrayBufferLike>([x.data.buffer]);
  const constants: Tensor[] = [];
  const constantIndex = new Map<Tensor, number>();
  const steps: TapeStep[] = [];
  let recordable = true;

  const encode = (a: unknown): Arg => {
    if (a instanceof Tensor) {
      const v = values.get(a);
      if (v !== undefined) return { value: v };
      // A tensor made outside the backend that shares an intermediate's memory is a view: a
      // worker could not rebuild it.
      if (buffers.has(a.data.buffer)) throw new NotRecordable('a view of an intermediate');
      let c = constantIndex.get(a);
      if (c === undefined) {
        c = constants.length;
        constants.push(a);
        constantIndex.set(a, c);
      }
      return { constant: c };
    }
    if (Array.isArray(a)) return a.map(encode);
    if (a === null || a === undefined || typeof a === 'number' || typeof a === 'string' || typeof a === 'boolean') return a;
    if (typeof a === 'object' && Object.getPrototypeOf(a) === Object.prototype) {
      return Object.fromEntries(Object.entries(a as Record<string, unknown>).map(([k, v]) => [k, encode(v)]));
    }
    throw new NotRecordable(`an argument of type ${typeof a}`);
  };

  const recorder = new Proxy(backend, {
    get(target, key, receiver) {
      const member = Reflect.get(target, key, receiver);
      if (typeof member !== 'function') return member;
      if (!(RECORDED as readonly (string | symbol)[]).includes(key)) {
        return (...args: unknown[]) => {
          recordable = false;
          return member.apply(target, args);
        };
      }
      return (...args: unknown[]) => {
        let step: TapeStep | null = null;
        if (recordable) {
          try {
            step = { op: key as RecordedOp, args: args.map(encode) };
            steps.push(step);
          } catch (e) {
            if (!(e instanceof NotRecordable)) throw e;
            recordable = false;
          }
        }
        const result = member.apply(target, args);
        if (key === 'release') return result;
        return (result as Promise<Tensor>).then((t) => {
          if (recordable && step) {
            step.out = values.size;
            values.set(t, values.size);
            buffers.add(t.data.buffer);
          }
          return t;
        });
      };
    },
  });

  const out = await forward(recorder, x);
  if (!recordable) return { out, pass: null };
  const outputs: Record<string, number> = {};
  for (const [name, t] of Object.entries(out)) {
    const v = values.get(t);
    if (v === undefined) return { out, pass: null };
    outputs[name] = v;
  }
  return { out, pass: { tape: { steps, outputs }, constants } };
}

/** Runs a tape on `backend` with `x` as the pass input. */
export async function replayPass(backend: Backend, tape: Tape, constants: readonly Tensor[], x: Tensor): Promise<Record<string, Tensor>> {
  const values: Tensor[] = [x];
  const decode = (a: Arg): unknown => {
    if (Array.isArray(a)) return a.map(decode);
    if (a === null || typeof a !== 'object') return a;
    if ('value' in a && typeof a.value === 'number') return values[a.value];
    if ('constant' in a && typeof a.constant === 'number') return constants[a.constant];
    return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, decode(v as Arg)]));
  };
  for (const step of tape.steps) {
    const args = step.args.map(decode);
    const op = (backend[step.op] as (...a: unknown[]) => unknown).bind(backend);
    if (step.op === 'release') {
      op(...args);
      continue;
    }
    values[step.out!] = (await op(...args)) as Tensor;
  }
  return Object.fromEntries(Object.entries(tape.outputs).map(([name, v]) => [name, values[v]]));
}
