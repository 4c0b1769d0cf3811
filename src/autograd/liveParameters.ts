// Backends keep what they derive from a parameter tensor (packed conv weights, Winograd
// transforms, shared-memory copies of biases), keyed by the tensor or its array, because weights
// normally outlive many passes. Training changes parameters in place between passes, so a
// recorded pass must not meet those caches: it hands the backend fresh views of the same
// memory, which no cache has seen. The layers, the tape and the optimisers keep the real
// tensors, so gradients and updates still belong to them.
import type { Backend } from '../tensor/backend.ts';
import { Tensor } from '../tensor/tensor.ts';

/** `backend` as seen by one pass in which every tensor of `params` is passed as a fresh view. */
export function withLiveParameters(backend: Backend, params: ReadonlySet<Tensor>): Backend {
  const views = new Map<Tensor, Tensor>();
  const fresh = (t: Tensor): Tensor => {
    let v = views.get(t);
    if (!v) {
      v = new Tensor(t.shape, t.data.subarray(0));
      views.set(t, v);
    }
    return v;
  };
  // Parameters travel as arguments, inside option objects (batch norm's statistics, a conv's
  // fused PReLU slopes) or in arrays: two levels of plain objects cover every op.
  const swap = (arg: unknown, depth: number): unknown => {
    if (arg instanceof Tensor) return params.has(arg) ? fresh(arg) : arg;
    if (depth === 0 || arg === null || typeof arg !== 'object' || ArrayBuffer.isView(arg)) return arg;
    if (Array.isArray(arg)) return arg.map((a) => swap(a, depth - 1));
    if (Object.getPrototypeOf(arg) !== Object.prototype) return arg;
    return Object.fromEntries(Object.entries(arg).map(([k, v]) => [k, swap(v, depth - 1)]));
  };
  return new Proxy(backend, {
    get(target, key) {
      const member = Reflect.get(target, key, target);
      if (typeof member !== 'function') return member;
      return (...args: unknown[]) => member.apply(target, args.map((a) => swap(a, 2)));
    },
  });
}
