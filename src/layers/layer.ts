import type { Tape } from '../autograd/tape.ts';
import type { Backend } from '../tensor/backend.ts';
import type { Tensor } from '../tensor/tensor.ts';

/** Called with every named intermediate of a forward pass, in execution order. */
export type TraceHook = (name: string, output: Tensor, layer: Layer) => void;

export interface ForwardContext {
  backend: Backend;
  trace?: TraceHook;
  /** Set for a pass to differentiate: every layer records on it what its backward needs. */
  tape?: Tape;
  /** Training mode: batch norms normalise with the batch's statistics and update their running ones. */
  training?: boolean;
}

export interface ParamSpec {
  /** Name inside the layer: 'weight', 'bias', 'alpha', 'mean'... */
  name: string;
  shape: readonly number[];
  /** State the forward pass keeps (a batch norm's running mean and variance), not trained by gradients. */
  buffer?: boolean;
}

/** What a leaf layer's backward is asked for. */
export interface LeafNeeds {
  dx: boolean;
  /** Names of the parameters whose gradients are wanted. */
  params: ReadonlySet<string>;
}

/** A leaf layer's gradients: dx and parameter gradients by name, each only if asked for. */
export interface LeafGrads {
  dx?: Tensor;
  params?: Record<string, Tensor>;
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
    const y = ctx.tape || ctx.training ? await this.runRecorded(ctx, x, joinPath(path, this.name)) : await this.run(ctx.backend, x);
    ctx.trace?.(joinPath(path, this.name), y, this);
    return y;
  }

  protected abstract run(backend: Backend, x: Tensor): Promise<Tensor>;

  /**
   * The forward pass of a recorded (or training) pass: runs the layer and records on the tape
   * the step that differentiates it, keeping x and y for backward. Layers that behave
   * differently in training (batch norm) override it.
   */
  protected async runRecorded(ctx: ForwardContext, x: Tensor, label: string): Promise<Tensor> {
    const y = await this.run(ctx.backend, x);
    this.recordStep(ctx, label, x, y, (backend, dy, needs) => this.backward(backend, x, y, dy, needs));
    return y;
  }

  /** Records one step for this layer: x is its input, its trainable parameters are the step's params. */
  protected recordStep(
    ctx: ForwardContext, label: string, x: Tensor, y: Tensor,
    backward: (backend: Backend, dy: Tensor, needs: LeafNeeds) => Promise<LeafGrads>,
  ): void {
    if (!ctx.tape) return;
    const names = this.paramSpecs.filter((p) => !p.buffer).map((p) => p.name);
    const params = names.map((n) => this.param(n));
    ctx.tape.record({
      label, inputs: [x], params, output: y,
      backward: async (backend, dy, needs) => {
        const wanted = new Set(names.filter((_, k) => needs.params[k]));
        const got = await backward(backend, dy, { dx: needs.inputs[0], params: wanted });
        return { inputs: [got.dx ?? null], params: names.map((n) => got.params?.[n] ?? null) };
      },
    });
  }

  /** dL/dx and the parameters' gradients from x, y and dL/dy; a layer that cannot be trained says so. */
  protected backward(_backend: Backend, _x: Tensor, _y: Tensor, _dy: Tensor, _needs: LeafNeeds): Promise<LeafGrads> {
    throw new Error(`${this.name}: the ${this.op} layer has no backward`);
  }
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
