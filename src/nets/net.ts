import { releaseIntermediate, Sequential } from '../layers/containers.ts';
import type { Layer, LayerInfo, TraceHook } from '../layers/layer.ts';
import { bindWeights, expectedTensors } from '../layers/weights.ts';
import type { Backend, RowGeometry } from '../tensor/backend.ts';
import { ShapeError, WeightsError } from '../tensor/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';

/**
 * A network: a trunk of layers, then one or more heads on the trunk's output. Layer names are
 * the trace names; weights are stored as `<net>.<layer>.<param>`.
 */
export class Net {
  readonly trunk: Sequential;
  readonly heads: Readonly<Record<string, Layer>>;
  /** Where the bound weights came from, for error messages. */
  private weightsFile = '<unloaded weights>';
  constructor(
    readonly name: string,
    /** [C, H, W]; H and W are null for fully convolutional nets that take any size. */
    readonly input: readonly [number, number | null, number | null],
    trunk: readonly Layer[],
    heads: Record<string, readonly Layer[]> = {},
    /** For a fully convolutional net: which input rows each output row reads (RowGeometry). */
    readonly rows?: RowGeometry,
  ) {
    this.trunk = new Sequential('', trunk);
    this.heads = Object.fromEntries(Object.entries(heads).map(([k, layers]) => [k, new Sequential('', layers)]));
  }

  /**
   * Runs the net; returns the heads' outputs by name, or `{ output }` for a net without heads.
   * A backend that compiles whole passes (gpu.js pipelines) gets the net as one graph, unless a
   * trace asks to see every intermediate.
   */
  async forward(backend: Backend, x: Tensor, trace?: TraceHook): Promise<Record<string, Tensor>> {
    const [c, h, w] = this.input;
    const [, xc, xh, xw] = x.nchw(this.name);
    if (xc !== c || (h !== null && xh !== h) || (w !== null && xw !== w)) {
      throw new ShapeError(this.name, `expects input [N, ${c}, ${h ?? 'H'}, ${w ?? 'W'}]`, [x.shape]);
    }
    // A traced pass is for looking at the values, NaNs included: it is returned unchecked.
    if (trace) return this.layers(backend, x, trace);
    const out = backend.runGraph ? await backend.runGraph(this, (b, input) => this.layers(b, input), x, this.rows) : await this.layers(backend, x);
    for (const [head, t] of Object.entries(out)) {
      if (firstNonFinite(t.data) >= 0) await this.blameNonFinite(backend, x, head);
    }
    return out;
  }

  /**
   * Throws a WeightsError naming the first layer whose output holds a NaN or an infinity. The
   * input was checked finite when it was made, so the weights are what overflowed. Found by a
   * second, traced pass: tracing every pass would cost time and memory on every call.
   */
  private async blameNonFinite(backend: Backend, x: Tensor, head: string): Promise<never> {
    const badInput = firstNonFinite(x.data);
    if (badInput >= 0) throw new WeightsError(this.weightsFile, null, `${this.name}: input value ${badInput} is ${x.data[badInput]}`);
    let first: { name: string; op: string; index: number; value: number } | null = null;
    await this.layers(backend, x, (name, t, layer) => {
      if (first) return;
      const i = firstNonFinite(t.data);
      if (i >= 0) first = { name, op: layer.op, index: i, value: t.data[i] };
    });
    const where = first as { name: string; op: string; index: number; value: number } | null;
    const detail = where ? `layer ${where.name} (${where.op}) is the first to give a non-finite value (${where.value} at ${where.index})` : `head ${head} gives a non-finite value`;
    throw new WeightsError(this.weightsFile, null, `${this.name}: ${detail}; the weights overflow float32 on this input`);
  }

  private async layers(backend: Backend, x: Tensor, trace?: TraceHook): Promise<Record<string, Tensor>> {
    const ctx = { backend, trace };
    const features = await this.trunk.forward(ctx, x, '');
    const names = Object.keys(this.heads);
    if (names.length === 0) return { output: features };
    const out: Record<string, Tensor> = {};
    for (const name of names) out[name] = await this.heads[name].forward(ctx, features, '');
    releaseIntermediate(ctx, features, [x, ...Object.values(out)]);
    return out;
  }

  /** The layer table for an input of [C, H, W]. */
  describe(input: readonly number[] = this.input.map((d) => d ?? 0)): LayerInfo[] {
    const rows = this.trunk.describe(input, '');
    const features = this.trunk.outputShape(input);
    for (const head of Object.values(this.heads)) rows.push(...head.describe(features, ''));
    return rows;
  }

  expectedTensors(): { name: string; shape: readonly number[] }[] {
    return [this.trunk, ...Object.values(this.heads)].flatMap((l) => expectedTensors(l, `${this.name}.`));
  }

  /** Binds `<net>.<layer>.<param>` tensors; checks all of them before binding any. */
  load(tensors: ReadonlyMap<string, Tensor>, file: string): this {
    this.weightsFile = file;
    const all = new Sequential('', [this.trunk, ...Object.values(this.heads)]);
    bindWeights(all, tensors, file, `${this.name}.`);
    return this;
  }
}

function firstNonFinite(data: Float32Array): number {
  // x * 0 is 0 for every finite x and NaN for NaN and the infinities: one branch-free pass over
  // every output, and the search only where it found one.
  let probe = 0;
  for (let i = 0; i < data.length; i++) probe += data[i] * 0;
  if (probe === 0) return -1;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}
