// A whole forward pass as one gpu.js `createPipeline` plan. gpu.js traces a *synchronous*
// orchestration function, while tsface's layers are async (any backend may finish later). So the
// pass is first recorded: the layers run against a recording view of the gpu.js backend, whose ops
// compute nothing and note which kernel they would call, with what. Replaying that list of steps
// is synchronous, and that replay is the orchestration gpu.js compiles: on webasm every step
// then runs over one WebAssembly memory, intermediates never copied out, one readback per output.
import { ShapeError } from '../../errors.ts';
import { Tensor } from '../tensor.ts';

export type GpuKernel = ((...args: unknown[]) => unknown) & {
  kernel?: { constructor: { mode?: string }; fallbackReason?: string | null };
  output?: number[];
  setOutput?: (o: number[]) => void;
  destroy?: () => void;
};

/** Where a kernel argument comes from: the plan's input, an earlier step, or a fixed value (weights, sizes). */
type Source = { from: 'input' } | { from: 'step'; step: number } | { from: 'literal'; value: unknown };

interface Step {
  kernel: GpuKernel;
  size: number;
  args: Source[];
}

/** `packed`: the kernel returns Array(4), four channels per thread (packedKernels.ts). */
export type KernelFactory = (source: string, constants: Record<string, number>, size: number, packed: boolean) => GpuKernel;

/** What a packed placeholder stands for: its NCHW shape, held four channels to a value. */
export interface PackedInfo {
  shape: readonly number[];
}

/** The steps of one forward pass, keyed by the placeholder arrays that stand in for their outputs. */
export class Recording {
  readonly steps: Step[] = [];
  /**
   * The plan's own kernels, one per op, constants and output size. gpu.js's generic executor
   * (cpu and GL modes, and any fallback) runs each kernel at the output size it had when the
   * plan was built, whatever size the step recorded, so a kernel is never shared between
   * steps of different sizes.
   */
  readonly kernels = new Map<string, GpuKernel>();
  private readonly producers = new WeakMap<Float32Array, Source>();
  /** Placeholders whose step writes the packed layout (packedKernels.ts), not plain NCHW. */
  readonly packed = new WeakMap<Float32Array, PackedInfo>();

  constructor(input: Tensor, private readonly makeKernel: KernelFactory) {
    this.producers.set(input.data, { from: 'input' });
  }

  /**
   * Notes one kernel call; `key` names the source and its constants (steps of one key and size
   * share a kernel); answers a placeholder tensor of the output's shape. Its array is never
   * written: V8 backs large zeroed buffers with untouched pages, so placeholders cost address
   * space, not memory.
   */
  record(source: string, key: string, constants: Record<string, number>, shape: readonly number[], args: unknown[], packedSize?: number): Tensor {
    const out = new Tensor(shape);
    const size = packedSize ?? out.size;
    const sized = `${key}|${size}|${packedSize === undefined ? 'plain' : 'packed'}`;
    let kernel = this.kernels.get(sized);
    if (!kernel) this.kernels.set(sized, (kernel = this.makeKernel(source, constants, size, packedSize !== undefined)));
    const sourceOf = (a: unknown): Source => (a instanceof Float32Array && this.producers.get(a)) || { from: 'literal', value: a };
    this.steps.push({ kernel, size, args: args.map(sourceOf) });
    this.producers.set(out.data, { from: 'step', step: this.steps.length - 1 });
    if (packedSize !== undefined) this.packed.set(out.data, { shape });
    return out;
  }

  /** The step that produced an output tensor of the pass (reshapes share their array). */
  stepOf(t: Tensor, name: string): number {
    const p = this.producers.get(t.data);
    if (p?.from !== 'step') throw new ShapeError('plan', `output '${name}' is not computed by any kernel of the pass`, [t.shape]);
    return p.step;
  }

  /** The synchronous replay gpu.js traces: kernel calls only, handles passed along. */
  orchestration(outputs: Record<string, number>): (input: unknown) => Record<string, unknown> {
    const steps = this.steps;
    return (input) => {
      const handles: unknown[] = [];
      for (const s of steps) {
        handles.push(s.kernel(...s.args.map((a) => (a.from === 'input' ? input : a.from === 'step' ? handles[a.step] : a.value))));
      }
      return Object.fromEntries(Object.entries(outputs).map(([name, step]) => [name, handles[step]]));
    };
  }
}

/** A compiled plan and what it returns. */
export interface Plan {
  run: ((input: Float32Array) => Promise<Record<string, ArrayLike<number>>>) & {
    executorKind?: string;
    backend?: string;
    fallbackReason?: string | null;
    destroy?: () => void;
  };
  shapes: Record<string, readonly number[]>;
  kernels: GpuKernel[];
  /** Values the plan's steps read, made when it was recorded (packed weights): released with it. */
  uploads: unknown[];
}

/**
 * Batches are padded up to the next of 1, 2, 3, 4, 6, 8, 12, 16, 24... (powers of two and their
 * halfway points, at most `maxBatch`; larger batches run in chunks), so R-Net and O-Net over a
 * varying number of crops meet a handful of plans rather than one per count, and at most a
 * third of a padded batch is padding. Every op of the nets works per batch item, so padding
 * items never touch the real ones.
 */
export function batchBucket(n: number, maxBatch: number): number {
  let p = 1;
  while (p < n && p < maxBatch) {
    if (p >= 2 && (p * 3) / 2 >= n) return Math.min((p * 3) / 2, maxBatch);
    p *= 2;
  }
  return Math.min(p, maxBatch);
}
