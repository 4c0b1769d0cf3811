// Comparing embeddings: distances, the same-person decision, and a searchable index.
import { DEFAULT_MAX_BYTES } from '../io/limits.ts';
import { readBoundedFile } from '../io/readFile.ts';
import { writeFileAtomic } from '../io/writeFile.ts';
import { ArgumentError, TsfaceError } from '../errors.ts';
import { readSafetensors, writeSafetensors } from '../tensor/safetensors.ts';
import { Tensor } from '../tensor/tensor.ts';
import { embeddingModel } from './embed.ts';

export class IndexFileError extends TsfaceError {
  constructor(file: string, message: string) {
    super('E_INDEX', `${file}: ${message}`);
  }
}

function checkPair(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length || a.length === 0) throw new ArgumentError(`embeddings differ in length (${a.length} vs ${b.length})`);
}

/** The largest magnitude in `v`; NaN when a value is NaN, Infinity when one is infinite. */
function maxAbs(v: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]);
    if (a !== a) return NaN;
    if (a > max) max = a;
  }
  return max;
}

/**
 * Cosine similarity, finite for every pair of finite vectors (NaN when a value is not finite, 0
 * when either vector is all zeros). The plain float64 sums serve every embedding a net gives;
 * they overflow once values pass ~1e154 (1e200 squared is infinite although 1e200 is not) and
 * lose digits when squares underflow, so those vectors are first divided by their largest
 * magnitude, which brings every value into [-1, 1].
 */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkPair(a, b);
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  const nn = na * nb;
  if (nn >= 1e-280 && nn <= 1e300 && Number.isFinite(dot)) return dot / Math.sqrt(nn);
  const sa = maxAbs(a), sb = maxAbs(b);
  if (!(sa <= Number.MAX_VALUE && sb <= Number.MAX_VALUE)) return NaN;
  if (sa === 0 || sb === 0) return 0;
  dot = na = nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] / sa, y = b[i] / sb;
    dot += x * y; na += x * x; nb += y * y;
  }
  return dot / Math.sqrt(na * nb);
}

/**
 * Writes `v / |v|` into `out` and returns true, or returns false when `v` holds a non-finite
 * value or is all zeros. Ordinary vectors take the plain sum of squares (so their unit vectors
 * are what they always were); ones whose squares overflow or underflow are divided by their
 * largest magnitude first, as in cosineSimilarity.
 */
export function normalizeInto(v: ArrayLike<number>, out: { [i: number]: number; length: number }): boolean {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
  if (sum >= 1e-280 && sum <= 1e300) {
    const scale = 1 / Math.sqrt(sum);
    for (let i = 0; i < v.length; i++) out[i] = v[i] * scale;
    return true;
  }
  const max = maxAbs(v);
  if (!(max > 0 && max <= Number.MAX_VALUE)) return false;
  sum = 0;
  for (let i = 0; i < v.length; i++) sum += (v[i] / max) ** 2;
  const scale = 1 / Math.sqrt(sum);
  for (let i = 0; i < v.length; i++) out[i] = (v[i] / max) * scale;
  return true;
}

/** Largest finite float32, the bound on what an index stores. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Why an embedding cannot be stored in an index, or null when it can. An index stores float32,
 * so every value must be finite and round to a finite float32 (1e200 and -1e308 are finite in
 * float64 but infinite as float32), and the rounded vector must not be all zeros (no direction
 * to compare). Such a vector's norm is then always finite and non-zero: at most
 * 3.4e38 * sqrt(dimension) in float64, and at least the smallest float32 subnormal.
 */
export function embeddingProblem(v: ArrayLike<number>): string | null {
  let nonZero = false;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) return `holds a non-finite value (${String(x)} at position ${i})`;
    const f = Math.fround(x);
    if (!(Math.abs(f) <= FLOAT32_MAX)) return `holds ${x} at position ${i}, beyond float32's range (an index stores float32)`;
    if (f !== 0) nonZero = true;
  }
  return nonZero ? null : 'is all zeros (as float32), a vector with no direction';
}

/** A label as it is named in messages: quoted, and cut short when long. */
export function labelForMessage(label: string): string {
  return JSON.stringify(label.length > 60 ? `${label.slice(0, 57)}...` : label);
}

/** Squared Euclidean distance; on unit vectors it equals 2 - 2 cos. */
export function squaredL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkPair(a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s;
}

export function distance(a: ArrayLike<number>, b: ArrayLike<number>, metric: 'cosine' | 'squared-l2' = 'cosine'): number {
  return metric === 'cosine' ? 1 - cosineSimilarity(a, b) : squaredL2(a, b);
}

export interface Verdict {
  same: boolean;
  similarity: number;
  threshold: number;
}

/** Same person when the cosine similarity is at least the model's documented threshold. */
export function verify(a: ArrayLike<number>, b: ArrayLike<number>, options: { model?: string; threshold?: number } = {}): Verdict {
  const threshold = options.threshold ?? embeddingModel(options.model ?? 'mobilefacenet').threshold;
  const similarity = cosineSimilarity(a, b);
  return { same: similarity >= threshold, similarity, threshold };
}

export interface IndexHit {
  label: string;
  similarity: number;
  index: number;
}

/**
 * Labelled embeddings searched by cosine similarity; saved as JSON or safetensors (format
 * tsface-index-1). Every embedding, added from code or read from either file form, is refused
 * unless embeddingProblem() passes it (finite float32 values, not all zeros), naming the entry:
 * nothing is rescaled on the way in, so a saved index holds exactly what was added.
 */
export class FaceIndex {
  readonly labels: string[] = [];
  readonly vectors: Float32Array[] = [];
  constructor(readonly model: string, readonly dimension: number) {
    if (!Number.isSafeInteger(dimension) || dimension < 1) throw new ArgumentError(`index dimension must be a positive integer, got ${dimension}`);
  }

  add(label: string, embedding: ArrayLike<number>): void {
    if (typeof label !== 'string') throw new ArgumentError(`index labels are strings, got ${label === null ? 'null' : typeof label}`);
    if (embedding.length !== this.dimension) throw new ArgumentError(`index holds ${this.dimension}-d embeddings, got ${embedding.length}`);
    const problem = embeddingProblem(embedding);
    if (problem) throw new ArgumentError(`embedding of entry ${this.size} (${labelForMessage(label)}) ${problem}`);
    this.labels.push(label);
    this.vectors.push(Float32Array.from(embedding));
  }

  /** add() for an entry read from a file: a bad value is the file's error, naming the entry. */
  private addChecked(label: string, embedding: ArrayLike<number>, file: string, entry: number): void {
    const problem = embeddingProblem(embedding);
    if (problem) throw new IndexFileError(file, `entry ${entry} (${labelForMessage(label)}): embedding ${problem}`);
    this.add(label, embedding);
  }

  get size(): number {
    return this.labels.length;
  }

  /**
   * The k entries most similar to `embedding`. The query is refused when it holds a non-finite
   * value or is all zeros; any other finite query (1e300s included) gets finite scores.
   */
  query(embedding: ArrayLike<number>, k = 5): IndexHit[] {
    if (embedding.length !== this.dimension) throw new ArgumentError(`index holds ${this.dimension}-d embeddings, the query has ${embedding.length}`);
    if (!normalizeInto(embedding, new Float64Array(embedding.length))) throw new ArgumentError('the query embedding is all zeros or holds a non-finite value');
    return this.vectors
      .map((v, index) => ({ label: this.labels[index], similarity: cosineSimilarity(embedding, v), index }))
      .sort((a, b) => b.similarity - a.similarity)
      .slice(0, k);
  }

  toJSON(): object {
    return { format: 'tsface-index-1', model: this.model, dimension: this.dimension, entries: this.labels.map((label, i) => ({ label, embedding: Array.from(this.vectors[i]) })) };
  }

  static fromJSON(data: unknown, file = '<json>'): FaceIndex {
    const d = data as { format?: unknown; model?: unknown; dimension?: unknown; entries?: unknown };
    if (typeof d !== 'object' || d === null || d.format !== 'tsface-index-1') throw new IndexFileError(file, 'not a tsface index (format tsface-index-1)');
    if (typeof d.model !== 'string' || !Number.isInteger(d.dimension) || !Array.isArray(d.entries)) throw new IndexFileError(file, 'model, dimension or entries missing');
    if ((d.dimension as number) < 1 || !Number.isSafeInteger(d.dimension)) throw new IndexFileError(file, `dimension ${d.dimension} is not a positive integer`);
    const index = new FaceIndex(d.model, d.dimension as number);
    d.entries.forEach((e: any, i: number) => {
      if (typeof e !== 'object' || e === null) throw new IndexFileError(file, `entry ${i} is not an object`);
      if (typeof e.label !== 'string') throw new IndexFileError(file, `entry ${i}: label is ${e.label === null ? 'null' : typeof e.label}, not a string`);
      if (!Array.isArray(e.embedding) || e.embedding.length !== index.dimension || !e.embedding.every((x: unknown) => typeof x === 'number')) {
        throw new IndexFileError(file, `entry ${i} (${labelForMessage(e.label)}): embedding is not ${index.dimension} numbers`);
      }
      index.addChecked(e.label, e.embedding, file, i);
    });
    return index;
  }

  /** Writes through a temporary file: a failed save leaves the previous file intact. */
  save(file: string): void {
    const bytes = file.endsWith('.safetensors')
      ? writeSafetensors(new Map([['embeddings', new Tensor([this.size, this.dimension], Float32Array.from(this.vectors.flatMap((v) => Array.from(v))))]]),
        { format: 'tsface-index-1', model: this.model, labels: JSON.stringify(this.labels) })
      : new TextEncoder().encode(JSON.stringify(this.toJSON()));
    writeFileAtomic(file, bytes, (reason) => new IndexFileError(file, reason));
  }

  /** Reads a JSON or safetensors index (a regular file of at most `maxBytes`). */
  static load(file: string, maxBytes: number = DEFAULT_MAX_BYTES.index): FaceIndex {
    return FaceIndex.parse(readBoundedFile(file, maxBytes, (reason) => new IndexFileError(file, reason)), file);
  }

  /** An index from a file's bytes: safetensors when `file` ends in .safetensors, else JSON. */
  static parse(bytes: Uint8Array, file: string): FaceIndex {
    if (file.endsWith('.safetensors')) {
      let st;
      try {
        // Values are checked entry by entry below (addChecked), where a bad one can be named.
        st = readSafetensors(bytes, file, { finite: false });
      } catch (e) {
        throw new IndexFileError(file, (e as Error).message);
      }
      const e = st.tensors.get('embeddings');
      let labels: unknown;
      try {
        labels = JSON.parse(st.metadata.labels ?? 'null');
      } catch {
        labels = null;
      }
      if (st.metadata.format !== 'tsface-index-1' || !e || e.rank !== 2 || !Array.isArray(labels) || labels.length !== e.shape[0]) {
        throw new IndexFileError(file, 'not a tsface index (embeddings tensor and labels metadata)');
      }
      if (e.shape[1] < 1) throw new IndexFileError(file, `dimension ${e.shape[1]} is not a positive integer`);
      const bad = labels.findIndex((l) => typeof l !== 'string');
      if (bad >= 0) throw new IndexFileError(file, `label ${bad} is ${labels[bad] === null ? 'null' : typeof labels[bad]}, not a string`);
      const index = new FaceIndex(st.metadata.model ?? 'unknown', e.shape[1]);
      labels.forEach((l, i) => index.addChecked(l, e.data.subarray(i * e.shape[1], (i + 1) * e.shape[1]), file, i));
      return index;
    }
    let data: unknown;
    try {
      data = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new IndexFileError(file, `not valid JSON: ${(e as Error).message}`);
    }
    return FaceIndex.fromJSON(data, file);
  }
}
