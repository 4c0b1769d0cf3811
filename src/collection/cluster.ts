// Grouping faces by person from their embeddings (unit vectors, cosine similarity):
// - chinese-whispers: each face repeatedly takes the label that weighs most among its
//   neighbours (faces at or above the threshold), visited in a seeded random order;
// - agglomerative: average linkage, merging while two groups' mean similarity is at or above
//   the threshold (nearest-neighbour chains, O(n^2) time and an n x n matrix).
// Both depend only on the input order and the seed.
import { ArgumentError } from '../errors.ts';
import { CollectionIndex } from './searchIndex.ts';

export const CLUSTER_METHODS = ['chinese-whispers', 'agglomerative'] as const;
export type ClusterMethod = (typeof CLUSTER_METHODS)[number];

/**
 * Default thresholds for clustering, per embedding model and method: stricter than a model's
 * verification threshold, because clustering chains decisions (chinese-whispers joins two faces
 * linked through any run of pairs above it; agglomerative merges groups on their mean) where
 * verification makes one. At MobileFaceNet's 0.39, chinese-whispers put the 4,882 held-out photos
 * below (2,019 people) into 44 clusters: pairwise precision 0.03.
 *
 * Chosen by `npm run calibrate:cluster` (tools/cluster/calibrate.ts, 2026-12-06): a scan of
 * ../shared/datasets/lfw-devtrain (9,525 photos, 4,038 people; `tsface scan --embed`), the scan's
 * first face of each photo (the largest inside the frame: see byVisibleArea), identity = folder;
 * the people split in two (seed 1); thresholds 0.40..0.70 by 0.01 swept on the calibration half
 * (2,019 people, 4,643 photos, 3,216 of them of the 592 people with two or more); each method's
 * default is the threshold of highest pairwise F1 that leaves at most 2% of those 3,216 photos
 * unclustered (alone although their person has another photo). Calibration: chinese-whispers
 * 0.57 F1 0.977, 1.62% (0.58 leaves 2.15%); agglomerative 0.53 F1 0.991, 1.65% (0.54: 2.18%).
 * On the other half (2,019 people, 4,882 photos, 3,455 of 592 people with two or more):
 *   chinese-whispers 0.57: precision 0.974, recall 0.995, F1 0.984, 590 clusters, 1.94% unclustered
 *   agglomerative    0.53: precision 0.999, recall 0.993, F1 0.996, 673 clusters, 1.82% unclustered
 * (592 people have two or more photos; the other 1,427 are seen once and rightly stay alone.)
 * With the face nearest each photo's centre instead (LFW's named person; it differs from the
 * first in 43 photos): F1 0.986 / 0.998, 1.53% / 1.33% unclustered.
 * A model not listed has no clustering calibration: see clusterThreshold().
 */
export const CLUSTER_THRESHOLDS: Readonly<Record<string, Readonly<Record<ClusterMethod, number>>>> = {
  mobilefacenet: { 'chinese-whispers': 0.57, agglomerative: 0.53 },
};

/** The calibrated clustering default of a model and method, or null where none was calibrated. */
export function clusterThreshold(model: string, method: ClusterMethod): number | null {
  return Object.hasOwn(CLUSTER_THRESHOLDS, model) ? CLUSTER_THRESHOLDS[model][method] : null;
}

/** Agglomerative keeps an n x n float32 matrix: 8,000 faces are 256 MB. */
export const AGGLOMERATIVE_MAX_FACES = 8000;

/** mulberry32: a small seeded generator, so a clustering can be repeated exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Calls `take(i, scores)` for each face with its cosine similarities to the faces after it
 * (scores[j - i - 1] for face j), on the index's SIMD kernel: the O(n^2) part of clustering.
 */
function similaritiesAfter(vectors: readonly Float32Array[], take: (i: number, scores: Float32Array) => void): void {
  const n = vectors.length;
  if (n === 0) return;
  const index = new CollectionIndex('clustering', vectors[0].length);
  vectors.forEach((v, i) => index.add(String(i), v));
  const buffer = new Float32Array(n);
  for (let i = 0; i + 1 < n; i++) {
    const scores = buffer.subarray(0, n - i - 1);
    index.scoresFrom(index.row(i), i + 1, scores);
    take(i, scores);
  }
}

/** For each face, the faces at or above `threshold` and their similarities. */
export function similarityGraph(vectors: readonly Float32Array[], threshold: number): { neighbours: number[][]; weights: number[][] } {
  const n = vectors.length;
  const neighbours: number[][] = Array.from({ length: n }, () => []);
  const weights: number[][] = Array.from({ length: n }, () => []);
  similaritiesAfter(vectors, (i, scores) => {
    for (let k = 0; k < scores.length; k++) {
      const s = scores[k];
      if (s < threshold) continue;
      const j = i + 1 + k;
      neighbours[i].push(j); weights[i].push(s);
      neighbours[j].push(i); weights[j].push(s);
    }
  });
  return { neighbours, weights };
}

export function chineseWhispers(vectors: readonly Float32Array[], threshold: number, seed = 0, maxIterations = 100): number[] {
  const n = vectors.length;
  const { neighbours, weights } = similarityGraph(vectors, threshold);
  const labels = Array.from({ length: n }, (_, i) => i);
  const random = seededRandom(seed);
  const order = labels.slice();
  const tally = new Map<number, number>();
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let changed = false;
    for (const node of order) {
      if (neighbours[node].length === 0) continue;
      tally.clear();
      neighbours[node].forEach((m, k) => tally.set(labels[m], (tally.get(labels[m]) ?? 0) + weights[node][k]));
      let best = labels[node];
      let bestWeight = -Infinity;
      for (const [label, w] of tally) {
        if (w > bestWeight || (w === bestWeight && label < best)) { best = label; bestWeight = w; }
      }
      if (best !== labels[node]) { labels[node] = best; changed = true; }
    }
    if (!changed) break;
  }
  return labels;
}

export function agglomerative(vectors: readonly Float32Array[], threshold: number): number[] {
  const n = vectors.length;
  if (n > AGGLOMERATIVE_MAX_FACES) throw new ArgumentError(`agglomerative clustering holds an n x n matrix; ${n} faces is over its limit of ${AGGLOMERATIVE_MAX_FACES} (use chinese-whispers)`);
  // Distances 1 - cos; a pair further apart than `cutoff` never merges.
  const cutoff = 1 - threshold;
  const d = new Float32Array(n * n);
  similaritiesAfter(vectors, (i, scores) => {
    for (let k = 0; k < scores.length; k++) {
      const j = i + 1 + k;
      d[i * n + j] = d[j * n + i] = 1 - scores[k];
    }
  });
  const size = new Array<number>(n).fill(1);
  const active = new Array<boolean>(n).fill(true);
  const parent = Array.from({ length: n }, (_, i) => i);
  let remaining = n;
  const chain: number[] = [];
  let next = 0;
  while (remaining > 1) {
    if (chain.length === 0) {
      while (!active[next]) next++;
      chain.push(next);
    }
    const a = chain[chain.length - 1];
    const previous = chain.length > 1 ? chain[chain.length - 2] : -1;
    // Nearest active group; the previous link wins ties so the chain always ends in a reciprocal pair.
    let b = previous;
    let best = previous >= 0 ? d[a * n + previous] : Infinity;
    for (let j = 0; j < n; j++) {
      if (!active[j] || j === a) continue;
      if (d[a * n + j] < best) { best = d[a * n + j]; b = j; }
    }
    if (b < 0 || best > cutoff) {
      // Average linkage never brings a group closer than its nearest member was: `a` stays alone.
      active[a] = false;
      remaining--;
      chain.pop();
      continue;
    }
    if (b !== previous) {
      chain.push(b);
      continue;
    }
    chain.pop();
    chain.pop();
    const [keep, gone] = a < b ? [a, b] : [b, a];
    for (let k = 0; k < n; k++) {
      if (!active[k] || k === keep || k === gone) continue;
      const v = (size[keep] * d[keep * n + k] + size[gone] * d[gone * n + k]) / (size[keep] + size[gone]);
      d[keep * n + k] = d[k * n + keep] = v;
    }
    size[keep] += size[gone];
    active[gone] = false;
    parent[gone] = keep;
    remaining--;
  }
  const root = (i: number): number => (parent[i] === i ? i : (parent[i] = root(parent[i])));
  return Array.from({ length: n }, (_, i) => root(i));
}

export interface Grouping {
  /** Groups of two or more faces, as indices into the input, in input order; groups ordered by their first face. */
  clusters: number[][];
  /** Faces that matched no other face. */
  alone: number[];
}

export function groupLabels(labels: readonly number[]): Grouping {
  const byLabel = new Map<number, number[]>();
  labels.forEach((label, i) => {
    const group = byLabel.get(label);
    if (group) group.push(i);
    else byLabel.set(label, [i]);
  });
  const groups = [...byLabel.values()].sort((a, b) => a[0] - b[0]);
  return { clusters: groups.filter((g) => g.length > 1), alone: groups.filter((g) => g.length === 1).map((g) => g[0]) };
}

export function clusterFaces(vectors: readonly Float32Array[], o: { threshold: number; method?: ClusterMethod; seed?: number }): Grouping {
  const method = o.method ?? 'chinese-whispers';
  if (!CLUSTER_METHODS.includes(method)) throw new ArgumentError(`--method must be one of ${CLUSTER_METHODS.join(', ')}, got '${method}'`);
  if (!(Number.isFinite(o.threshold) && o.threshold >= -1 && o.threshold <= 1)) throw new ArgumentError(`threshold must be a cosine similarity in [-1, 1], got ${o.threshold}`);
  if (o.seed !== undefined && !Number.isInteger(o.seed)) throw new ArgumentError(`seed must be an integer, got ${o.seed}`);
  const labels = method === 'agglomerative' ? agglomerative(vectors, o.threshold) : chineseWhispers(vectors, o.threshold, o.seed ?? 0);
  return groupLabels(labels);
}
