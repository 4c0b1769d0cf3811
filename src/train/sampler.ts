// Batches of P identities x K photos, the layout online triplet mining needs: every anchor has a
// positive (K >= 2 of its person) and negatives (the other P - 1 people) in the same batch.
// An epoch visits every identity once, in an order drawn from the run's generator; a person
// with fewer than K photos gives all of them, one with more gives K drawn without replacement.
import { ArgumentError } from '../errors.ts';
import type { Random } from './random.ts';

export interface BatchShape {
  identities: number;
  photos: number;
}

export function parseBatchShape(spec: string): BatchShape {
  const m = /^(\d+)x(\d+)$/.exec(spec);
  const p = m ? Number(m[1]) : NaN;
  const k = m ? Number(m[2]) : NaN;
  if (!(p >= 2 && k >= 2 && p * k <= 4096)) throw new ArgumentError(`--batch must be PxK with P >= 2 identities and K >= 2 photos each (e.g. 8x4), got '${spec}'`);
  return { identities: p, photos: k };
}

/** One batch item: a person (index into the identity list) and one of their crops. */
export interface BatchItem {
  identity: number;
  crop: number;
}

/** The batches of one epoch. `counts[i]` is how many crops identity i has (each at least 2). */
export function epochBatches(counts: readonly number[], shape: BatchShape, rng: Random): BatchItem[][] {
  const order = rng.shuffle(counts.map((_, i) => i));
  const batches: BatchItem[][] = [];
  // A last group of one person has no negatives: it joins the batch before it.
  for (let at = 0; at < order.length; at += shape.identities) {
    const group = order.slice(at, at + shape.identities);
    const merge = order.length - at - shape.identities === 1;
    if (merge) group.push(order[order.length - 1]);
    const items: BatchItem[] = [];
    for (const identity of group) {
      const picks = rng.shuffle(Array.from({ length: counts[identity] }, (_, i) => i)).slice(0, shape.photos);
      for (const crop of picks) items.push({ identity, crop });
    }
    batches.push(items);
    if (merge) break;
  }
  return batches;
}

/** How many batches an epoch over `identities` people has (the sampler's count, without drawing). */
export function batchesPerEpoch(identities: number, shape: BatchShape): number {
  const full = Math.floor(identities / shape.identities);
  const rest = identities - full * shape.identities;
  return rest === 1 ? full : full + (rest > 0 ? 1 : 0);
}
