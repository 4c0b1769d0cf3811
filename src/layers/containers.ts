import type { Tensor } from '../tensor/tensor.ts';
import { PReLU, ReLU } from './activation.ts';
import { Conv2d } from './conv.ts';
import { MaxPool2d } from './pool.ts';
import { joinPath, type ForwardContext, type Layer, type LayerInfo, type ParamSpec } from './layer.ts';

abstract class Container implements Layer {
  abstract readonly op: string;
  readonly paramSpecs: readonly ParamSpec[] = [];
  readonly params = new Map<string, Tensor>();
  constructor(readonly name: string, readonly children: readonly Layer[]) {}
  abstract forward(ctx: ForwardContext, x: Tensor, path: string): Promise<Tensor>;
  abstract outputShape(input: readonly number[]): number[];
  abstract describe(input: readonly number[], path: string): LayerInfo[];
}

/**
 * Hands an intermediate back to the backend for reuse once its last reader has run. Never the
 * caller's input, never under a trace (the hook may keep what it saw), and never when one of
 * the tensors still in use shares its memory (reshapes and views do).
 */
export function releaseIntermediate(ctx: ForwardContext, t: Tensor, inUse: readonly Tensor[]): void {
  // A tape keeps every intermediate its backward reads.
  if (ctx.trace || ctx.tape || !ctx.backend.release) return;
  if (inUse.some((u) => u === t || u.data.buffer === t.data.buffer)) return;
  ctx.backend.release(t);
}

/** Layers applied one after the other. An empty name adds no level to the trace path. */
export class Sequential extends Container {
  readonly op = 'sequential';
  async forward(ctx: ForwardContext, x: Tensor, path: string): Promise<Tensor> {
    const here = joinPath(path, this.name);
    let y = x;
    const layers = this.children;
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i];
      const next = layers[i + 1];
      // Without a trace nobody observes the conv's own output, so the activation after it is
      // applied in the same pass (one memory round trip fewer; the values are identical). A tape
      // needs the conv's output for the activation's backward, so it gets two steps.
      // So is a max pooling after the conv (and its activation): a backend may pool each part
      // of the conv's output while it still holds it.
      const prev = y;
      const activation = next instanceof PReLU || next instanceof ReLU ? next : null;
      const after = layers[i + (activation ? 2 : 1)];
      const maxPool = after instanceof MaxPool2d ? after.options : undefined;
      if (!ctx.trace && !ctx.tape && layer instanceof Conv2d && (activation || maxPool)) {
        y = await layer.runFused(ctx.backend, y, activation?.asFused(), maxPool);
        i += (activation ? 1 : 0) + (maxPool ? 1 : 0);
      } else {
        y = await layer.forward(ctx, y, here);
      }
      releaseIntermediate(ctx, prev, [x, y]);
    }
    return y;
  }
  outputShape(input: readonly number[]): number[] {
    let s = [...input];
    for (const layer of this.children) s = layer.outputShape(s);
    return s;
  }
  describe(input: readonly number[], path: string): LayerInfo[] {
    const here = joinPath(path, this.name);
    const rows: LayerInfo[] = [];
    let s = [...input];
    for (const layer of this.children) {
      rows.push(...layer.describe(s, here));
      s = layer.outputShape(s);
    }
    return rows;
  }
}

/** Parallel branches on the same input, concatenated along channels (an inception block). */
export class Branches extends Container {
  readonly op = 'concat';
  async forward(ctx: ForwardContext, x: Tensor, path: string): Promise<Tensor> {
    const here = joinPath(path, this.name);
    const outs: Tensor[] = [];
    for (const branch of this.children) outs.push(await branch.forward(ctx, x, here));
    const y = await ctx.backend.concat(outs);
    ctx.tape?.record({
      label: here, inputs: outs, params: [], output: y,
      backward: async (backend, dy, needs) => {
        const slices: (Tensor | null)[] = [];
        let from = 0;
        for (const [k, out] of outs.entries()) {
          slices.push(needs.inputs[k] ? await backend.sliceChannels(dy, from, out.shape[1]) : null);
          from += out.shape[1];
        }
        return { inputs: slices, params: [] };
      },
    });
    for (const out of outs) releaseIntermediate(ctx, out, [x, y]);
    ctx.trace?.(here, y, this);
    return y;
  }
  outputShape(input: readonly number[]): number[] {
    const shapes = this.children.map((b) => b.outputShape(input));
    return [shapes.reduce((c, s) => c + s[0], 0), ...shapes[0].slice(1)];
  }
  describe(input: readonly number[], path: string): LayerInfo[] {
    const here = joinPath(path, this.name);
    const rows = this.children.flatMap((b) => b.describe(input, here));
    rows.push({ name: here, op: 'concat', detail: `${this.children.length} branches`, output: this.outputShape(input), params: 0, macs: 0 });
    return rows;
  }
}

/** y = body(x) + x, as in MobileNet-style inverted residual blocks. */
export class Residual extends Container {
  readonly op = 'add';
  constructor(name: string, body: Layer) {
    super(name, [body]);
  }
  async forward(ctx: ForwardContext, x: Tensor, path: string): Promise<Tensor> {
    const here = joinPath(path, this.name);
    const body = await this.children[0].forward(ctx, x, here);
    const y = await ctx.backend.add(body, x);
    // y = body + x: dy flows unchanged to both.
    ctx.tape?.record({ label: here, inputs: [body, x], params: [], output: y, backward: async (_b, dy) => ({ inputs: [dy, dy], params: [] }) });
    releaseIntermediate(ctx, body, [x, y]);
    ctx.trace?.(here, y, this);
    return y;
  }
  outputShape(input: readonly number[]): number[] {
    return this.children[0].outputShape(input);
  }
  describe(input: readonly number[], path: string): LayerInfo[] {
    const here = joinPath(path, this.name);
    return [...this.children[0].describe(input, here), { name: here, op: 'add', detail: 'residual', output: this.outputShape(input), params: 0, macs: 0 }];
  }
}

/** Every leaf layer with its full path, in forward order. */
export function leaves(layer: Layer, path = ''): { path: string; layer: Layer }[] {
  if (layer.children.length === 0) return [{ path: joinPath(path, layer.name), layer }];
  const here = joinPath(path, layer.name);
  return layer.children.flatMap((c) => leaves(c, here));
}
