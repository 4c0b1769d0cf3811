// The triplet loss FaceNet was trained with (Schroff et al. 2015, eq. 1), its gradient, and the
// two usual ways of picking triplets from a labelled batch.
import { ArgumentError } from '../errors.ts';

type Vectors = readonly (ArrayLike<number>)[];

export interface TripletLossResult {
  /** Mean over triplets of max(|a - p|^2 - |a - n|^2 + margin, 0). */
  loss: number;
  /** Triplets with a positive loss. */
  active: number;
  gradAnchor: Float64Array[];
  gradPositive: Float64Array[];
  gradNegative: Float64Array[];
}

function sq(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s;
}

export function tripletLoss(anchor: Vectors, positive: Vectors, negative: Vectors, margin = 0.2): TripletLossResult {
  const n = anchor.length;
  if (n === 0 || positive.length !== n || negative.length !== n) throw new ArgumentError('tripletLoss needs equally many anchors, positives and negatives');
  const d = anchor[0].length;
  const zeros = () => Array.from({ length: n }, () => new Float64Array(d));
  const gradAnchor = zeros(), gradPositive = zeros(), gradNegative = zeros();
  let loss = 0;
  let active = 0;
  for (let t = 0; t < n; t++) {
    const a = anchor[t], p = positive[t], q = negative[t];
    if (p.length !== d || q.length !== d || a.length !== d) throw new ArgumentError(`triplet ${t}: vectors differ in length`);
    const l = sq(a, p) - sq(a, q) + margin;
    if (l <= 0) continue;
    loss += l;
    active++;
    // d/da = 2(n - p), d/dp = 2(p - a), d/dn = 2(a - n); divided by n for the mean.
    for (let i = 0; i < d; i++) {
      gradAnchor[t][i] = (2 * (q[i] - p[i])) / n;
      gradPositive[t][i] = (2 * (p[i] - a[i])) / n;
      gradNegative[t][i] = (2 * (a[i] - q[i])) / n;
    }
  }
  return { loss: loss / n, active, gradAnchor, gradPositive, gradNegative };
}

export type Triplet = [anchor: number, positive: number, negative: number];

function distances(x: Vectors): number[][] {
  return x.map((a) => x.map((b) => sq(a, b)));
}

/**
 * Batch-hard mining (Hermans et al. 2017): for every anchor with a positive in the batch, the
 * farthest positive and the closest negative.
 */
export function batchHardTriplets(embeddings: Vectors, labels: readonly (string | number)[]): Triplet[] {
  const d = distances(embeddings);
  const out: Triplet[] = [];
  for (let a = 0; a < labels.length; a++) {
    let p = -1, q = -1;
    for (let j = 0; j < labels.length; j++) {
      if (j === a) continue;
      if (labels[j] === labels[a]) { if (p < 0 || d[a][j] > d[a][p]) p = j; }
      else if (q < 0 || d[a][j] < d[a][q]) q = j;
    }
    if (p >= 0 && q >= 0) out.push([a, p, q]);
  }
  return out;
}

/**
 * Semi-hard mining (FaceNet section 3.2): for every anchor-positive pair, the closest negative
 * that is still farther than the positive (d_ap < d_an); when there is none, the farthest
 * negative (the rule of TensorFlow Addons' triplet_semihard_loss).
 */
export function semiHardTriplets(embeddings: Vectors, labels: readonly (string | number)[]): Triplet[] {
  const d = distances(embeddings);
  const out: Triplet[] = [];
  for (let a = 0; a < labels.length; a++) {
    for (let p = 0; p < labels.length; p++) {
      if (p === a || labels[p] !== labels[a]) continue;
      let semi = -1, far = -1;
      for (let q = 0; q < labels.length; q++) {
        if (labels[q] === labels[a]) continue;
        if (d[a][q] > d[a][p] && (semi < 0 || d[a][q] < d[a][semi])) semi = q;
        if (far < 0 || d[a][q] > d[a][far]) far = q;
      }
      const q = semi >= 0 ? semi : far;
      if (q >= 0) out.push([a, p, q]);
    }
  }
  return out;
}
