// One training step's loss and gradients under FaceNet's triplet loss: the net's forward pass
// recorded on a tape, embeddings L2-normalised on the tape, triplets mined from the batch, and
// the per-sample gradients of the loss run back to every trainable parameter.
import { Tape } from '../autograd/tape.ts';
import { L2Normalize } from '../layers/normalization.ts';
import type { Net } from '../nets/net.ts';
import { batchHardTriplets, semiHardTriplets, tripletLoss, type Triplet } from '../pipeline/triplet.ts';
import type { Backend } from '../tensor/backend.ts';
import { ArgumentError } from '../errors.ts';
import { Tensor } from '../tensor/tensor.ts';

export type TripletMining = 'batch-hard' | 'semi-hard' | 'all';

export interface TripletStepOptions {
  margin?: number;
  mining?: TripletMining;
  /** Use these triplets instead of mining (a reference comparison, or a fixed curriculum). */
  triplets?: readonly Triplet[];
  /** Which parameters get gradients (Tape's option); default all. */
  trainable?: (param: Tensor) => boolean;
  /** Batch norms in training mode (batch statistics, running ones updated). */
  training?: boolean;
}

export interface TripletStepResult {
  loss: number;
  /** Triplets with a positive loss. */
  active: number;
  triplets: number;
  /** The triplets the loss was taken over, as [anchor, positive, negative] batch indices. */
  mined: Triplet[];
  /** Each sample's unit-length embedding. */
  embeddings: Float32Array[];
  grads: Map<Tensor, Tensor>;
}

/** Every (anchor, positive, negative) with anchor != positive of one label and a negative of another, in index order. */
export function allTriplets(labels: readonly (string | number)[]): Triplet[] {
  const out: Triplet[] = [];
  for (let a = 0; a < labels.length; a++) {
    for (let p = 0; p < labels.length; p++) {
      if (p === a || labels[p] !== labels[a]) continue;
      for (let n = 0; n < labels.length; n++) if (labels[n] !== labels[a]) out.push([a, p, n]);
    }
  }
  return out;
}

function mine(embeddings: Float32Array[], labels: readonly (string | number)[], mining: TripletMining): Triplet[] {
  switch (mining) {
    case 'batch-hard': return batchHardTriplets(embeddings, labels);
    case 'semi-hard': return semiHardTriplets(embeddings, labels);
    case 'all': return allTriplets(labels);
  }
}

/** The net's only output: its single head, or its trunk's output. */
function soleOutput(net: Net, out: Record<string, Tensor>): Tensor {
  const values = Object.values(out);
  if (values.length !== 1) throw new ArgumentError(`${net.name}: tripletStep needs a net with one output, it has ${Object.keys(out).join(', ')}`);
  return values[0];
}

export async function tripletStep(
  net: Net, backend: Backend, batch: Tensor, labels: readonly (string | number)[], options: TripletStepOptions = {},
): Promise<TripletStepResult> {
  const n = batch.shape[0];
  if (labels.length !== n) throw new ArgumentError(`tripletStep: ${labels.length} labels for a batch of ${n}`);
  const tape = new Tape({ trainable: options.trainable });
  const raw = soleOutput(net, await net.forwardRecorded(backend, batch, tape, { training: options.training }));
  // nn4.small2 ends in its own L2Normalize; MobileFaceNet's embedding is raw. Normalising on the
  // tape makes the loss's gradient flow through the normalisation.
  const endsNormalised = net.trunk.children.at(-1) instanceof L2Normalize && Object.keys(net.heads).length === 0;
  const unit = endsNormalised ? raw : await new L2Normalize('l2norm').forward({ backend, tape }, raw, net.name);
  const dim = unit.size / n;
  const embeddings = Array.from({ length: n }, (_, i) => unit.data.slice(i * dim, (i + 1) * dim));
  const mined = options.triplets ? [...options.triplets] : mine(embeddings, labels, options.mining ?? 'batch-hard');
  for (const t of mined) {
    if (t.some((i) => !Number.isInteger(i) || i < 0 || i >= n)) throw new ArgumentError(`tripletStep: triplet [${t.join(', ')}] is outside the batch of ${n}`);
  }
  if (mined.length === 0) return { loss: 0, active: 0, triplets: 0, mined, embeddings, grads: zeroGrads(net, options.trainable) };
  const pick = (k: 0 | 1 | 2) => mined.map((t) => embeddings[t[k]]);
  const result = tripletLoss(pick(0), pick(1), pick(2), options.margin ?? 0.2);
  // Every appearance of a sample, as anchor, positive or negative, adds to its gradient.
  const seed = new Float64Array(n * dim);
  for (const [t, [a, p, q]] of mined.entries()) {
    for (let i = 0; i < dim; i++) {
      seed[a * dim + i] += result.gradAnchor[t][i];
      seed[p * dim + i] += result.gradPositive[t][i];
      seed[q * dim + i] += result.gradNegative[t][i];
    }
  }
  const grads = result.active > 0 ? await tape.backward(backend, [[unit, new Tensor(unit.shape, Float32Array.from(seed))]]) : zeroGrads(net, options.trainable);
  return { loss: result.loss, active: result.active, triplets: mined.length, mined, embeddings, grads };
}

/**
 * A step without an active triplet has a loss of 0 and every gradient 0, as torch's backward
 * gives it; an empty map instead would make optimisers skip the step, and momentum (SGD's, Adam's
 * moments, weight decay) would stop where torch's keeps moving the weights.
 */
function zeroGrads(net: Net, trainable: ((p: Tensor) => boolean) | undefined): Map<Tensor, Tensor> {
  const grads = new Map<Tensor, Tensor>();
  for (const { tensor } of net.parameters()) if (!trainable || trainable(tensor)) grads.set(tensor, new Tensor(tensor.shape));
  return grads;
}
