import type { Backend } from '../tensor/backend.ts';
import type { Tensor } from '../tensor/tensor.ts';

/** Called with every named intermediate of a forward pass, in execution order. */
export type TraceHook = (name: string, output: Tensor, layer: Layer) => void;

export interface ForwardContext {
  backend: Backend;
  trace?: TraceHook;
}

export interface ParamSpec {
  /** Name inside the layer: 'weight', 'bias', 'alpha', 'mean'... */
  name: string;
  shape: readonly number[];
}

/** A row of a net's summary table. */
export interface LayerInfo {
  name: string;
  op: string;
  /** Kernel, stride, padding and the like, as the paper's tables print them. */
  detail: string;
  output: readonly number[];
  params: number;
  macs: number;
}

/**
 * A named step of a network. Leaf layers hold parameters and call the backend; containers
 * (Sequential, Branches, Residual) compose them. Shapes here exclude the batch: [C, H, W] or [F].
 */
export interface Layer {
  readonly name: string;
  readonly op: string;
  /** Parameters this layer (not its children) needs, with the shapes it expects. */
  readonly paramSpecs: readonly ParamSpec[];
  readonly params: Map<string, Tensor>;
  readonly children: readonly Layer[];
  forward(ctx: ForwardContext, x: Tensor, path: string): Promise<Tensor>;
  outputShape(input: readonly number[]): number[];
  /** Summary rows for this layer (containers return their children's rows). */
  describe(input: readonly number[], path: string): LayerInfo[];
}

export function joinPath(path: string, name: string): string {
  return path ? `${path}/${name}` : name;
}

export function paramCount(specs: readonly ParamSpec[]): number {
  return specs.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
}

/** Base for layers with parameters: looks them up and reports a missing one by name. */
export abstract class LeafLayer implements Layer {
  abstract readonly op: string;
  readonly params = new Map<string, Tensor>();
  readonly children: readonly Layer[] = [];
  constructor(readonly name: string) {}

  get paramSpecs(): readonly ParamSpec[] {
    return [];
  }

  protected param(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new Error(`${this.name}: parameter '${name}' is not loaded`);
    return t;
  }

  protected optionalParam(name: string): Tensor | null {
    return this.params.get(name) ?? null;
  }

  async forward(ctx: ForwardContext, x: Tensor, path: string): Promise<Tensor> {
    const y = await this.run(ctx.backend, x);
    ctx.trace?.(joinPath(path, this.name), y, this);
    return y;
  }

  protected abstract run(backend: Backend, x: Tensor): Promise<Tensor>;
  abstract outputShape(input: readonly number[]): number[];

  protected detail(): string {
    return '';
  }

  protected macs(_input: readonly number[], _output: readonly number[]): number {
    return 0;
  }

  describe(input: readonly number[], path: string): LayerInfo[] {
    const output = this.outputShape(input);
    return [{ name: joinPath(path, this.name), op: this.op, detail: this.detail(), output, params: paramCount(this.paramSpecs), macs: this.macs(input, output) }];
  }
}
