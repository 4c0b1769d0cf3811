// torch.optim's SGD, Adam and AdamW (single-tensor CPU path of torch 1.13), updating the nets'
// own parameter arrays in place. Float32 as torch: every tensor op rounds once to float32, and
// Math.fround marks where. An op torch runs as a fused multiply-add (add_ with alpha; its vector
// path uses fmadd) is written a + s * b in double and rounded once, which is what a fused
// multiply-add gives for float32 operands; torch's scalars (lr, betas, alpha) are float32 in
// those ops and doubles where Python computes them (bias corrections).
import { ArgumentError } from '../errors.ts';
import { parametersChanged, type Tensor } from '../tensor/tensor.ts';

const f = Math.fround;

export interface NamedParameter {
  name: string;
  tensor: Tensor;
}

export interface Optimizer {
  readonly params: readonly NamedParameter[];
  /** The learning rate of the next step (schedules set it). */
  lr: number;
  /** One update of every parameter that has a gradient in `grads` (others are left alone, as torch skips a None grad). */
  step(grads: Map<Tensor, Tensor>): void;
  /** Copies of the optimiser's state, keyed `<param name>.<slot>`, for saving and --resume. */
  state(): Map<string, Float32Array | number>;
  loadState(state: ReadonlyMap<string, Float32Array | number>): void;
}

/** Per-parameter state slots by name: the part every optimiser shares. */
abstract class NamedStateOptimizer implements Optimizer {
  readonly params: readonly NamedParameter[];
  protected readonly slots = new Map<string, Float32Array | number>();
  constructor(params: readonly NamedParameter[], public lr: number) {
    const names = new Set<string>();
    for (const p of params) {
      if (names.has(p.name)) throw new ArgumentError(`optimizer: parameter name '${p.name}' given twice`);
      names.add(p.name);
    }
    if (!(lr >= 0)) throw new ArgumentError(`optimizer: learning rate ${lr} is not a non-negative number`);
    this.params = [...params];
  }

  step(grads: Map<Tensor, Tensor>): void {
    for (const p of this.params) {
      const g = grads.get(p.tensor);
      if (!g) continue;
      if (g.size !== p.tensor.size) throw new ArgumentError(`optimizer: gradient of ${p.name} has ${g.size} values, the parameter ${p.tensor.size}`);
      this.update(p, g.data);
    }
    // The weights changed in place: backends rebuild what they derived from them.
    parametersChanged();
  }

  protected abstract update(p: NamedParameter, grad: Float32Array): void;

  /** A state array of the parameter's size, zero-filled the first time. */
  protected buffer(p: NamedParameter, slot: string): { data: Float32Array; fresh: boolean } {
    const key = `${p.name}.${slot}`;
    const have = this.slots.get(key);
    if (have instanceof Float32Array) return { data: have, fresh: false };
    const data = new Float32Array(p.tensor.size);
    this.slots.set(key, data);
    return { data, fresh: true };
  }

  state(): Map<string, Float32Array | number> {
    return new Map([...this.slots].map(([k, v]) => [k, typeof v === 'number' ? v : v.slice()]));
  }

  loadState(state: ReadonlyMap<string, Float32Array | number>): void {
    const sizes = new Map(this.params.map((p) => [p.name, p.tensor.size]));
    const loaded = new Map<string, Float32Array | number>();
    for (const [key, value] of state) {
      const name = key.slice(0, key.lastIndexOf('.'));
      const size = sizes.get(name);
      if (size === undefined) throw new ArgumentError(`optimizer state: '${key}' belongs to no parameter of this optimizer`);
      if (typeof value !== 'number' && value.length !== size) throw new ArgumentError(`optimizer state: '${key}' has ${value.length} values, the parameter ${size}`);
      loaded.set(key, typeof value === 'number' ? value : value.slice());
    }
    this.slots.clear();
    for (const [k, v] of loaded) this.slots.set(k, v);
  }
}

export interface SgdOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/** torch.optim.SGD with dampening 0: the momentum buffer starts as the first gradient. */
export class SGD extends NamedStateOptimizer {
  private readonly momentum: number;
  private readonly weightDecay: number;
  private readonly nesterov: boolean;
  constructor(params: readonly NamedParameter[], options: SgdOptions) {
    super(params, options.lr);
    this.momentum = options.momentum ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (this.nesterov && this.momentum <= 0) throw new ArgumentError('SGD: nesterov needs a momentum above 0');
  }

  protected update(p: NamedParameter, grad: Float32Array): void {
    const w = p.tensor.data;
    const wd = f(this.weightDecay), mu = f(this.momentum), negLr = f(-this.lr);
    const buf = this.momentum !== 0 ? this.buffer(p, 'momentum_buffer') : null;
    for (let i = 0; i < w.length; i++) {
      let d = this.weightDecay !== 0 ? f(grad[i] + wd * w[i]) : grad[i];
      if (buf) {
        const b = buf.fresh ? d : f(f(buf.data[i] * mu) + d);
        buf.data[i] = b;
        d = this.nesterov ? f(d + mu * b) : b;
      }
      w[i] = f(w[i] + negLr * d);
    }
  }
}

export interface AdamOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/** The moment updates and step of Adam; AdamW differs only in where the weight decay goes. */
abstract class AdamFamily extends NamedStateOptimizer {
  protected readonly beta1: number;
  protected readonly beta2: number;
  protected readonly eps: number;
  protected readonly weightDecay: number;
  constructor(params: readonly NamedParameter[], options: AdamOptions, defaultWeightDecay: number) {
    super(params, options.lr);
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? defaultWeightDecay;
  }

  /** One Adam update of w from g (g already holds any L2 term). */
  protected adam(p: NamedParameter, w: Float32Array, g: ArrayLike<number>): void {
    const stepKey = `${p.name}.step`;
    // torch keeps the count in a float32 tensor and reads it back as a Python float.
    const step = f(((this.slots.get(stepKey) as number | undefined) ?? 0) + 1);
    this.slots.set(stepKey, step);
    const m = this.buffer(p, 'exp_avg').data;
    const v = this.buffer(p, 'exp_avg_sq').data;
    const b1 = f(this.beta1), b2 = f(this.beta2), oneMinusB1 = f(1 - this.beta1), oneMinusB2 = f(1 - this.beta2);
    const stepSize = this.lr / (1 - this.beta1 ** step);
    const correction2Sqrt = f(Math.sqrt(1 - this.beta2 ** step));
    const negStep = f(-stepSize), eps = f(this.eps);
    for (let i = 0; i < w.length; i++) {
      m[i] = f(f(m[i] * b1) + oneMinusB1 * g[i]);
      v[i] = f(f(v[i] * b2) + f(f(oneMinusB2 * g[i]) * g[i]));
      const denom = f(f(f(Math.sqrt(v[i])) / correction2Sqrt) + eps);
      w[i] = f(w[i] + f(f(negStep * m[i]) / denom));
    }
  }
}

/** torch.optim.Adam: weight decay is an L2 term added to the gradient. */
export class Adam extends AdamFamily {
  constructor(params: readonly NamedParameter[], options: AdamOptions) {
    super(params, options, 0);
  }
  protected update(p: NamedParameter, grad: Float32Array): void {
    const w = p.tensor.data;
    let g: Float32Array = grad;
    if (this.weightDecay !== 0) {
      const wd = f(this.weightDecay);
      g = new Float32Array(w.length);
      for (let i = 0; i < w.length; i++) g[i] = grad[i] + wd * w[i];
    }
    this.adam(p, w, g);
  }
}

/** torch.optim.AdamW: decoupled weight decay, the weights shrunk by lr * weightDecay before the Adam step (default 0.01). */
export class AdamW extends AdamFamily {
  constructor(params: readonly NamedParameter[], options: AdamOptions) {
    super(params, options, 0.01);
  }
  protected update(p: NamedParameter, grad: Float32Array): void {
    const w = p.tensor.data;
    const shrink = f(1 - this.lr * this.weightDecay);
    for (let i = 0; i < w.length; i++) w[i] = f(w[i] * shrink);
    this.adam(p, w, grad);
  }
}

/**
 * torch.nn.utils.clip_grad_norm_ (norm 2): scales every gradient in place by
 * min(1, maxNorm / (total + 1e-6)) and returns the total norm, the norm of the per-tensor norms.
 */
export function clipGradNorm(grads: Map<Tensor, Tensor>, maxNorm: number): number {
  let sum = 0;
  for (const g of grads.values()) {
    let s = 0;
    for (let i = 0; i < g.size; i++) s += g.data[i] * g.data[i];
    const norm = f(Math.sqrt(s));
    sum += norm * norm;
  }
  const total = f(Math.sqrt(sum));
  // torch: max_norm / tensor is tensor.reciprocal() * max_norm, then clamped to 1.
  const coef = Math.min(f(f(1 / f(total + f(1e-6))) * f(maxNorm)), 1);
  for (const g of grads.values()) {
    for (let i = 0; i < g.size; i++) g.data[i] = f(g.data[i] * coef);
  }
  return total;
}
