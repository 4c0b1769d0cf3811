// Comparing embeddings: distances, the same-person decision, and a searchable index.
import { DEFAULT_MAX_BYTES } from '../io/limits.ts';
import { readBoundedFile } from '../io/readFile.ts';
import { writeFileAtomic } from '../io/writeFile.ts';
import { ArgumentError, TsfaceError } from '../tensor/errors.ts';
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

export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkPair(a, b);
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return dot / Math.sqrt(Math.max(na * nb, 1e-24));
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

/** Labelled embeddings searched by cosine similarity; saved as JSON or safetensors. */
export class FaceIndex {
  readonly labels: string[] = [];
  readonly vectors: Float32Array[] = [];
  constructor(readonly model: string, readonly dimension: number) {
    if (!Number.isSafeInteger(dimension) || dimension < 1) throw new ArgumentError(`index dimension must be a positive integer, got ${dimension}`);
  }

  add(label: string, embedding: ArrayLike<number>): void {
    if (typeof label !== 'string') throw new ArgumentError(`index labels are strings, got ${label === null ? 'null' : typeof label}`);
    if (embedding.length !== this.dimension) throw new ArgumentError(`index holds ${this.dimension}-d embeddings, got ${embedding.length}`);
    if (!Array.prototype.every.call(embedding, Number.isFinite)) throw new ArgumentError('embedding holds a non-finite value');
    this.labels.push(label);
    this.vectors.push(Float32Array.from(embedding));
  }

  get size(): number {
    return this.labels.length;
  }

  query(embedding: ArrayLike<number>, k = 5): IndexHit[] {
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
      if (!Array.isArray(e.embedding) || e.embedding.length !== index.dimension || !e.embedding.every(Number.isFinite)) {
        throw new IndexFileError(file, `entry ${i}: embedding is not ${index.dimension} finite numbers`);
      }
      index.add(e.label, e.embedding);
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
        st = readSafetensors(bytes, file);
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
      labels.forEach((l, i) => index.add(l, e.data.subarray(i * e.shape[1], (i + 1) * e.shape[1])));
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
