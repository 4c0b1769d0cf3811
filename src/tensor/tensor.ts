import { ShapeError } from '../errors.ts';

/**
 * A dense float32 tensor. Image activations are NCHW with the batch first; fully connected
 * outputs are [N, F]. The data may live on a SharedArrayBuffer so that worker threads can
 * read and write it without copies.
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;

  constructor(shape: readonly number[], data?: Float32Array) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new ShapeError('Tensor', `invalid dimension ${d}`, [shape]);
    }
    const size = shapeSize(shape);
    if (data && data.length !== size) {
      throw new ShapeError('Tensor', `data length ${data.length} does not equal the shape's size ${size}`, [shape]);
    }
    this.shape = Object.freeze([...shape]);
    this.data = data ?? new Float32Array(size);
  }

  get size(): number {
    return this.data.length;
  }
  get rank(): number {
    return this.shape.length;
  }

  /** The NCHW dimensions; throws for tensors that are not rank 4. */
  nchw(op: string): [number, number, number, number] {
    if (this.shape.length !== 4) throw new ShapeError(op, 'expected an NCHW tensor of rank 4', [this.shape]);
    return this.shape as unknown as [number, number, number, number];
  }

  /** Same data, another shape of the same size. */
  reshape(shape: readonly number[]): Tensor {
    if (shapeSize(shape) !== this.size) throw new ShapeError('reshape', 'sizes differ', [this.shape, shape]);
    return new Tensor(shape, this.data);
  }

  /** One batch item as a tensor of batch 1 (a view, no copy). */
  item(n: number): Tensor {
    const per = this.size / this.shape[0];
    return new Tensor([1, ...this.shape.slice(1)], this.data.subarray(n * per, (n + 1) * per));
  }

  static fromArray(shape: readonly number[], values: ArrayLike<number>): Tensor {
    return new Tensor(shape, Float32Array.from(values));
  }
}

/**
 * Counts in-place changes to parameters (an optimiser's step). Backends keep what they derive
 * from weights (packed GEMM panels, Winograd transforms, shared-memory copies, recorded passes,
 * gpu.js plans) keyed by the weight tensor, which an in-place update does not change: each such
 * cache is dropped when this count has moved since it was filled.
 */
let parameterGeneration = 0;

/** Call after changing parameter values in place: derived caches of every backend rebuild. */
export function parametersChanged(): void {
  parameterGeneration++;
}

export function parametersGeneration(): number {
  return parameterGeneration;
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Stacks batch-1 (or batch-k) tensors of equal C, H, W along the batch dimension. */
export function stackBatch(items: readonly Tensor[]): Tensor {
  if (items.length === 0) throw new ShapeError('stackBatch', 'no tensors given');
  const rest = items[0].shape.slice(1);
  let n = 0;
  for (const t of items) {
    if (!sameShape(t.shape.slice(1), rest)) throw new ShapeError('stackBatch', 'item shapes differ', [items[0].shape, t.shape]);
    n += t.shape[0];
  }
  const out = new Tensor([n, ...rest]);
  let offset = 0;
  for (const t of items) {
    out.data.set(t.data, offset);
    offset += t.size;
  }
  return out;
}
