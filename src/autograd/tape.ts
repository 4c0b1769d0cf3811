// Reverse-mode differentiation over a recorded forward pass. Layers record one step per op they
// run (what it read, what it made, which parameters it used, and how to turn dL/d(output) into
// gradients for those); backward walks the steps in reverse. The tape, not the layers, decides
// what is worth keeping: a step none of whose inputs depends on a trainable parameter and that
// uses no trainable parameter itself is dropped, so a frozen prefix of a net costs nothing in
// backward.
import type { Backend } from '../tensor/backend.ts';
import { ShapeError } from '../errors.ts';
import { sameShape, type Tensor } from '../tensor/tensor.ts';

/** Which gradients a step's backward is asked for, aligned with its inputs and params. */
export interface StepNeeds {
  readonly inputs: readonly boolean[];
  readonly params: readonly boolean[];
}

/** A step's gradients, aligned with its inputs and params; null where none was asked for. */
export interface StepGrads {
  inputs: readonly (Tensor | null)[];
  params: readonly (Tensor | null)[];
}

export interface TapeStep {
  /** Where in the net the step ran (a layer path), for error messages. */
  readonly label: string;
  /** The tensors the step read that a gradient may flow back to. */
  readonly inputs: readonly Tensor[];
  /** The parameters the step used (trainable or not: the tape asks). */
  readonly params: readonly Tensor[];
  readonly output: Tensor;
  /** The vector-Jacobian product: dy is dL/d(output); computes only what `needs` asks for. */
  backward(backend: Backend, dy: Tensor, needs: StepNeeds): Promise<StepGrads>;
}

export interface TapeOptions {
  /** Which parameters get gradients; default every one. */
  trainable?: (param: Tensor) => boolean;
}

export class Tape {
  private readonly steps: TapeStep[] = [];
  /** Tensors whose value depends on a trainable parameter: only they carry gradients back. */
  private readonly dependsOnTrainable = new Set<Tensor>();
  private readonly trainable: (param: Tensor) => boolean;

  constructor(options: TapeOptions = {}) {
    this.trainable = options.trainable ?? (() => true);
  }

  /** Keeps the step if a gradient can flow through it to a trainable parameter. */
  record(step: TapeStep): void {
    const live = step.params.some(this.trainable) || step.inputs.some((t) => this.dependsOnTrainable.has(t));
    if (!live) return;
    this.steps.push(step);
    this.dependsOnTrainable.add(step.output);
  }

  /** Steps kept so far (what backward will run), for reports and tests. */
  get length(): number {
    return this.steps.length;
  }

  /**
   * Gradients of the loss with respect to every trainable parameter reached, given dL/d(output)
   * for one or more outputs. A parameter used by several steps gets the sum.
   */
  async backward(backend: Backend, seeds: ReadonlyArray<readonly [output: Tensor, grad: Tensor]>): Promise<Map<Tensor, Tensor>> {
    const pending = new Map<Tensor, Tensor>();
    const accumulate = async (into: Map<Tensor, Tensor>, t: Tensor, g: Tensor, label: string): Promise<void> => {
      if (!sameShape(t.shape, g.shape)) throw new ShapeError(`${label} backward`, 'a gradient differs in shape from its tensor', [t.shape, g.shape]);
      const before = into.get(t);
      into.set(t, before ? await backend.add(before, g) : g);
    };
    for (const [output, grad] of seeds) await accumulate(pending, output, grad, 'seed');
    const grads = new Map<Tensor, Tensor>();
    for (let i = this.steps.length - 1; i >= 0; i--) {
      const step = this.steps[i];
      const dy = pending.get(step.output);
      if (!dy) continue;
      // Nothing after this step reads its gradient again: let it go as the walk moves on.
      pending.delete(step.output);
      const needs: StepNeeds = {
        inputs: step.inputs.map((t) => this.dependsOnTrainable.has(t)),
        params: step.params.map(this.trainable),
      };
      const got = await step.backward(backend, dy, needs);
      for (const [k, t] of step.inputs.entries()) {
        const g = got.inputs[k];
        if (needs.inputs[k] && g) await accumulate(pending, t, g, step.label);
      }
      for (const [k, p] of step.params.entries()) {
        const g = got.params[k];
        if (needs.params[k] && g) await accumulate(grads, p, g, step.label);
      }
    }
    return grads;
  }
}
