import type { Tape } from '../autograd/tape.ts';
import { leaves, releaseIntermediate, Sequential } from '../layers/containers.ts';
import { joinPath, type ForwardContext, type Layer, type LayerInfo, type TraceHook } from '../layers/layer.ts';
import { bindWeights, expectedTensors } from '../layers/weights.ts';
import type { Backend, RowGeometry } from '../tensor/backend.ts';
import { ArgumentError, ShapeError, WeightsError } from '../errors.ts';
import type { Conv2dOptions } from '../tensor/geometry.ts';
import { parametersChanged, type Tensor } from '../tensor/tensor.ts';

const exactViews = new WeakMap<Backend, Backend>();

/**
 * The backend with `exact: true` added to every conv2d's options (Conv2dOptions.exact), every
 * other member the backend's own: what a pass to differentiate runs on.
 */
function exactConvolutions(backend: Backend): Backend {
  let view = exactViews.get(backend);
  if (!view) {
    view = new Proxy(backend, {
      get(target, key) {
        const member = Reflect.get(target, key, target);
        if (key === 'conv2d') return (x: Tensor, w: Tensor, b: Tensor | null, o: Conv2dOptions = {}) => target.conv2d(x, w, b, { ...o, exact: true });
        return typeof member === 'function' ? member.bind(target) : member;
      },
    });
    exactViews.set(backend, view);
  }
  return view;
}

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
    this.checkInput(x);
    // A traced pass is for looking at the values, NaNs included: it is returned unchecked.
    if (trace) return this.layers({ backend, trace }, x);
    const out = backend.runGraph ? await backend.runGraph(this, (b, input) => this.layers({ backend: b }, input), x, this.rows) : await this.layers({ backend }, x);
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
    await this.layers({
      backend,
      trace: (name, t, layer) => {
        if (first) return;
        const i = firstNonFinite(t.data);
        if (i >= 0) first = { name, op: layer.op, index: i, value: t.data[i] };
      },
    }, x);
    const where = first as { name: string; op: string; index: number; value: number } | null;
    const detail = where ? `layer ${where.name} (${where.op}) is the first to give a non-finite value (${where.value} at ${where.index})` : `head ${head} gives a non-finite value`;
    throw new WeightsError(this.weightsFile, null, `${this.name}: ${detail}; the weights overflow float32 on this input`);
  }

  /**
   * Runs the net op by op, recording on `tape` every step backward needs: no whole-pass plan, no
   * fused activations, no intermediate handed back for reuse. With `training`, batch norms use
   * the batch's statistics and update their running ones. Parameters are read as they are now:
   * training changes them in place between passes, so whatever backends derived from them
   * before (packed weights, recorded passes) is dropped first (parametersChanged).
   */
  async forwardRecorded(backend: Backend, x: Tensor, tape: Tape, options: { training?: boolean } = {}): Promise<Record<string, Tensor>> {
    this.checkInput(x);
    parametersChanged();
    return this.layers({ backend: exactConvolutions(backend), tape, training: options.training ?? false }, x);
  }

  private checkInput(x: Tensor): void {
    const [c, h, w] = this.input;
    const [, xc, xh, xw] = x.nchw(this.name);
    if (xc !== c || (h !== null && xh !== h) || (w !== null && xw !== w)) {
      throw new ShapeError(this.name, `expects input [N, ${c}, ${h ?? 'H'}, ${w ?? 'W'}]`, [x.shape]);
    }
  }

  private async layers(ctx: ForwardContext, x: Tensor): Promise<Record<string, Tensor>> {
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

  /** Every bound tensor with its name as in weights files, in forward order, buffers included. */
  private boundTensors(): { name: string; tensor: Tensor; layer: Layer; param: string; buffer: boolean }[] {
    return [this.trunk, ...Object.values(this.heads)].flatMap((root) => expectedTensors(root, `${this.name}.`)).map(({ name, layer, param, buffer }) => {
      const tensor = layer.params.get(param);
      if (!tensor) throw new WeightsError(this.weightsFile, name, 'is not loaded');
      return { name, tensor, layer, param, buffer };
    });
  }

  /** The trainable parameters, in forward order, named as in weights files; batch norms' running statistics are buffers, not here. */
  parameters(): { name: string; tensor: Tensor; layer: Layer; param: string }[] {
    return this.boundTensors().filter((t) => !t.buffer).map(({ name, tensor, layer, param }) => ({ name, tensor, layer, param }));
  }

  /** State updated by training-mode passes rather than by gradients: batch norms' running mean and variance. */
  buffers(): { name: string; tensor: Tensor }[] {
    return this.boundTensors().filter((t) => t.buffer).map(({ name, tensor }) => ({ name, tensor }));
  }

  /**
   * The parameters of every layer up to and including `layerName` in forward order: a container
   * path ('stage3', 'stage3/block2') or a leaf's ('stage3/block2/expand'). For a Tape's
   * `trainable` option: `p => !frozen.has(p)`.
   */
  frozenUpTo(layerName: string): Set<Tensor> {
    const order = [this.trunk, ...Object.values(this.heads)].flatMap((root) => leaves(root));
    const containers = [this.trunk, ...Object.values(this.heads)].flatMap((root) => containerPaths(root, ''));
    const within = (path: string) => path === layerName || path.startsWith(`${layerName}/`);
    let last = -1;
    for (const [i, { path }] of order.entries()) if (within(path)) last = i;
    if (last < 0) {
      throw new ArgumentError(`${this.name}: no layer '${layerName}'; layers are ${[...new Set([...containers, ...order.map((l) => l.path)])].join(', ')}`);
    }
    const frozen = new Set<Tensor>();
    const trainable = new Set(this.parameters().map((p) => p.tensor));
    for (const { layer } of order.slice(0, last + 1)) {
      for (const t of layer.params.values()) if (trainable.has(t)) frozen.add(t);
    }
    return frozen;
  }

  /** Binds `<net>.<layer>.<param>` tensors; checks all of them before binding any. */
  load(tensors: ReadonlyMap<string, Tensor>, file: string): this {
    this.weightsFile = file;
    const all = new Sequential('', [this.trunk, ...Object.values(this.heads)]);
    bindWeights(all, tensors, file, `${this.name}.`);
    return this;
  }
}

/** Paths of the named containers under `layer`, outermost first. */
function containerPaths(layer: Layer, path: string): string[] {
  if (layer.children.length === 0) return [];
  const here = joinPath(path, layer.name);
  return [...(here ? [here] : []), ...layer.children.flatMap((c) => containerPaths(c, here))];
}

function firstNonFinite(data: Float32Array): number {
  // One branch-free pass over every output, and the search only where it found one.
  if (nonFiniteProbe(data) === 0) return -1;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

/**
 * 0 when every value is finite: x * 0 is 0 for every finite x and NaN for NaN and the
 * infinities. A function of its own so that its loop ends in a return: as firstNonFinite's first
 * loop, Chromium's V8 ran it as on-stack-replaced code whose exit to the comparison after it
 * had no type feedback, and threw that code away each time (41 to 134 times in the cold-start
 * rows, TSFACE_CHROMIUM_FLAGS='--js-flags=--trace-deopt').
 */
function nonFiniteProbe(data: Float32Array): number {
  let probe = 0;
  for (let i = 0; i < data.length; i++) probe += data[i] * 0;
  return probe;
}
