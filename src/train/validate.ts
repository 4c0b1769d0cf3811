// Verification on faces the run does not train on, after every epoch: the held-back identities
// (all same-person pairs up to a cap, as many different-person pairs) or an LFW pairs file,
// scored by lfw.ts's k-fold protocol, so the figures are eval-lfw's.
import { evaluatePairs, loadPairs, type LfwPair, type LfwResult } from '../pipeline/lfw.ts';
import type { EmbeddingModelSpec } from '../pipeline/embed.ts';
import type { RgbImage } from '../image/decode.ts';
import { cosineSimilarity } from '../pipeline/verify.ts';
import type { Net } from '../nets/net.ts';
import type { Backend } from '../tensor/backend.ts';
import { TrainingDataError } from './errors.ts';
import { cropsToTensor, NO_AUGMENTATION } from './augment.ts';
import type { Identity } from './dataset.ts';
import type { FaceCache } from './faceCache.ts';
import { Random } from './random.ts';

/** Faces to embed and the pairs among them (indices into `crops`). */
export interface ValidationSet {
  crops: RgbImage[];
  pairs: { a: number; b: number; same: boolean; fold: number }[];
  /** Pairs of the file left out because an image had no usable face. */
  skippedPairs: number;
  describe: string;
}

const FOLDS = 10;

/** Pairs among held-back identities; the same `seed` always gives the same pairs. */
export function heldOutPairs(held: readonly Identity[], seed: number, maxPairs = 600): ValidationSet {
  const rng = new Random(seed);
  const crops: RgbImage[] = [];
  const first: number[] = [];
  for (const p of held) {
    first.push(crops.length);
    crops.push(...p.crops);
  }
  const same: [number, number][] = [];
  held.forEach((p, i) => {
    for (let a = 0; a < p.crops.length; a++) for (let b = a + 1; b < p.crops.length; b++) same.push([first[i] + a, first[i] + b]);
  });
  const n = Math.min(same.length, Math.floor(maxPairs / 2));
  const positives = rng.shuffle(same).slice(0, n);
  const negatives: [number, number][] = [];
  for (let k = 0; k < n; k++) {
    const i = rng.int(held.length);
    let j = rng.int(held.length - 1);
    if (j >= i) j++;
    negatives.push([first[i] + rng.int(held[i].crops.length), first[j] + rng.int(held[j].crops.length)]);
  }
  const folds = Math.max(1, Math.min(FOLDS, n));
  const pairs = [
    ...positives.map(([a, b], k) => ({ a, b, same: true, fold: k % folds })),
    ...negatives.map(([a, b], k) => ({ a, b, same: false, fold: k % folds })),
  ];
  return { crops, pairs, skippedPairs: 0, describe: `${held.length} held-back identities, ${pairs.length} pairs` };
}

/** An LFW pairs file whose names resolve under `root`, its faces made by the training cache. */
export async function pairsFileSet(file: string, root: string, cache: FaceCache): Promise<ValidationSet> {
  const listed = loadPairs(file, root);
  const index = new Map<string, number | null>();
  const crops: RgbImage[] = [];
  for (const path of new Set(listed.flatMap((p) => [p.a, p.b]))) {
    const r = await cache.crop(path);
    if (r.kind === 'face') {
      index.set(path, crops.length);
      crops.push(r.crop);
    } else index.set(path, null);
  }
  const pairs = listed.filter((p) => index.get(p.a) != null && index.get(p.b) != null).map((p) => ({ a: index.get(p.a)!, b: index.get(p.b)!, same: p.same, fold: p.fold }));
  if (!pairs.some((p) => p.same) || !pairs.some((p) => !p.same)) throw new TrainingDataError(`--validate ${file}: no usable same-person and different-person pairs under ${root} (${listed.length - pairs.length} of ${listed.length} pairs lack a face)`);
  return { crops, pairs, skippedPairs: listed.length - pairs.length, describe: `${file}, ${pairs.length} pairs` };
}

/** Unit embeddings of crops, in inference mode, `chunk` at a time. */
export async function embedCrops(net: Net, backend: Backend, model: Pick<EmbeddingModelSpec, 'size' | 'normalize'>, crops: readonly RgbImage[], chunk = 32): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let at = 0; at < crops.length; at += chunk) {
    const part = crops.slice(at, at + chunk);
    const x = cropsToTensor(part, part.map(() => NO_AUGMENTATION), model);
    const { output } = await net.forward(backend, x);
    const d = output.size / part.length;
    const unit = await backend.l2Normalize(output.reshape([part.length, d]));
    for (let n = 0; n < part.length; n++) out.push(unit.data.slice(n * d, (n + 1) * d));
  }
  return out;
}

export async function validate(net: Net, backend: Backend, model: Pick<EmbeddingModelSpec, 'size' | 'normalize'>, set: ValidationSet): Promise<LfwResult> {
  const e = await embedCrops(net, backend, model, set.crops);
  const scores = set.pairs.map((p) => cosineSimilarity(e[p.a], e[p.b]));
  return evaluatePairs(scores, set.pairs.map((p): LfwPair => ({ a: String(p.a), b: String(p.b), same: p.same, fold: p.fold })));
}
