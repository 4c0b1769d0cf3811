// A face index at collection scale: the embeddings of every face as rows of one float32 matrix in
// WebAssembly memory (4 bytes a dimension a face, plus a fixed scratch area), searched exactly
// (every row scored) for the top k cosine similarities with the SIMD kernel of simdScores.ts.
// Saved as a tsface-index-1 safetensors file, the format FaceIndex reads, labels "IMAGE#FACE".
import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { embeddingProblem, FaceIndex, labelForMessage, normalizeInto } from '../pipeline/verify.ts';
import { ArgumentError } from '../errors.ts';
import { readEmbeddedFaces } from './embeddedFaces.ts';
import { scoresModule, type ScoresKernel } from './simdScores.ts';

/** Longest embedding an index takes: the query area at the start of memory holds this many floats. */
export const MAX_DIMENSION = 4096;
/** Rows scored per kernel call; the scores of one chunk fit the scratch area. */
const CHUNK = 8192;
const QUERY_AT = 0;
const SCORES_AT = QUERY_AT + MAX_DIMENSION * 4;
const ROWS_AT = SCORES_AT + CHUNK * 4;
const PAGE = 65536;
/** WebAssembly memory is addressed with 32 bits. */
const MAX_BYTES = 65536 * PAGE;

export interface SearchHit {
  label: string;
  similarity: number;
  /** Row of the face in the index. */
  index: number;
}

/** Keeps the k best hits: higher similarity first, the earlier row on ties. */
class TopK {
  readonly scores: number[] = [];
  readonly rows: number[] = [];
  constructor(readonly k: number) {}

  private worse(i: number, j: number): boolean {
    return this.scores[i] < this.scores[j] || (this.scores[i] === this.scores[j] && this.rows[i] > this.rows[j]);
  }

  private swap(i: number, j: number): void {
    [this.scores[i], this.scores[j]] = [this.scores[j], this.scores[i]];
    [this.rows[i], this.rows[j]] = [this.rows[j], this.rows[i]];
  }

  /** Min-heap on "worse": the root is the hit the next better one replaces. */
  offer(score: number, row: number): void {
    const n = this.scores.length;
    if (n < this.k) {
      this.scores.push(score);
      this.rows.push(row);
      for (let i = n; i > 0;) {
        const p = (i - 1) >> 1;
        if (!this.worse(i, p)) break;
        this.swap(i, p);
        i = p;
      }
      return;
    }
    if (score < this.scores[0] || (score === this.scores[0] && row > this.rows[0])) return;
    this.scores[0] = score;
    this.rows[0] = row;
    for (let i = 0; ;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < n && this.worse(l, m)) m = l;
      if (r < n && this.worse(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }

  sorted(): { score: number; row: number }[] {
    return this.scores.map((score, i) => ({ score, row: this.rows[i] })).sort((a, b) => b.score - a.score || a.row - b.row);
  }
}

export class CollectionIndex {
  readonly labels: string[] = [];
  /** Floats per stored row: the dimension rounded up to four (SIMD lanes), the padding zero. */
  readonly stride: number;
  private readonly memory: WebAssembly.Memory;
  private readonly kernel: ScoresKernel | null;

  constructor(readonly model: string, readonly dimension: number, options: { simd?: boolean } = {}) {
    if (!(Number.isInteger(dimension) && dimension > 0 && dimension <= MAX_DIMENSION)) throw new ArgumentError(`index dimension must be an integer in 1..${MAX_DIMENSION}, got ${dimension}`);
    this.stride = Math.ceil(dimension / 4) * 4;
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(ROWS_AT / PAGE) });
    const module = options.simd === false ? null : scoresModule();
    this.kernel = module ? (new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports as unknown as { scores: ScoresKernel }).scores : null;
  }

  get size(): number {
    return this.labels.length;
  }

  /** Whether searches run on the SIMD kernel (false: the plain loop, on engines without SIMD). */
  get simd(): boolean {
    return this.kernel !== null;
  }

  /** Bytes of memory the index holds (rows, query and scratch). */
  get bytes(): number {
    return this.memory.buffer.byteLength;
  }

  private reserve(rows: number): void {
    const need = ROWS_AT + rows * this.stride * 4;
    if (need > MAX_BYTES) throw new ArgumentError(`an index of ${rows} ${this.dimension}-d faces needs ${need} bytes, over WebAssembly's 4 GiB`);
    const have = this.memory.buffer.byteLength;
    if (need <= have) return;
    // Grow by at least an eighth, so adding faces one by one costs amortised constant time.
    const target = Math.min(MAX_BYTES, Math.max(need, have + (have >> 3)));
    this.memory.grow(Math.ceil((target - have) / PAGE));
  }

  /**
   * Adds a face; its embedding is L2-normalised here, so scores are cosine similarities. It is
   * refused on the terms of a FaceIndex file (finite float32 values, not all zeros), so a saved
   * index always loads again.
   */
  add(label: string, embedding: ArrayLike<number>): void {
    if (embedding.length !== this.dimension) throw new ArgumentError(`index holds ${this.dimension}-d embeddings, got ${embedding.length}`);
    const problem = embeddingProblem(embedding);
    if (problem) throw new ArgumentError(`embedding of row ${this.size} (${labelForMessage(label)}) ${problem}`);
    this.reserve(this.size + 1);
    const row = new Float32Array(this.memory.buffer, ROWS_AT + this.size * this.stride * 4, this.stride);
    normalizeInto(embedding, row);
    this.labels.push(label);
  }

  /** Row `i` (a view into the index's memory, valid until the next add). */
  row(i: number): Float32Array {
    return new Float32Array(this.memory.buffer, ROWS_AT + i * this.stride * 4, this.dimension);
  }

  /** Writes the query's unit vector where the kernel reads it (any finite, non-zero query: 1e300s are scaled safely). */
  private setQuery(query: ArrayLike<number>): Float32Array {
    if (query.length !== this.dimension) throw new ArgumentError(`index holds ${this.dimension}-d embeddings, the query has ${query.length}`);
    const unit = new Float64Array(this.dimension);
    if (!normalizeInto(query, unit)) throw new ArgumentError('the query embedding is zero or not finite');
    const q = new Float32Array(this.memory.buffer, QUERY_AT, this.stride);
    q.fill(0);
    q.set(unit);
    return q;
  }

  /** Calls `take` with the scores of rows from, from + 1, ... in chunks (a view valid during the call). */
  private scoreRows(q: Float32Array, from: number, take: (first: number, scores: Float32Array) => void): void {
    const scores = new Float32Array(this.memory.buffer, SCORES_AT, CHUNK);
    for (let start = from; start < this.size; start += CHUNK) {
      const count = Math.min(CHUNK, this.size - start);
      if (this.kernel) this.kernel(ROWS_AT + start * this.stride * 4, QUERY_AT, SCORES_AT, count, this.stride * 4);
      else this.plainScores(start, count, q, scores);
      take(start, scores.subarray(0, count));
    }
  }

  /** Cosine similarity of the query with every face, the k best first (ties: the earlier face). */
  search(query: ArrayLike<number>, k = 5): SearchHit[] {
    if (!(Number.isInteger(k) && k >= 1)) throw new ArgumentError(`k must be a positive integer, got ${k}`);
    const q = this.setQuery(query);
    const top = new TopK(Math.min(k, this.size));
    this.scoreRows(q, 0, (first, scores) => {
      for (let i = 0; i < scores.length; i++) top.offer(scores[i], first + i);
    });
    return top.sorted().map(({ score, row }) => ({ label: this.labels[row], similarity: score, index: row }));
  }

  /** Cosine similarities of the query with rows `from` onwards, into `out` (length size - from). */
  scoresFrom(query: ArrayLike<number>, from: number, out: Float32Array): void {
    const q = this.setQuery(query);
    this.scoreRows(q, from, (first, scores) => out.set(scores, first - from));
  }

  private plainScores(from: number, count: number, q: Float32Array, scores: Float32Array): void {
    const rows = new Float32Array(this.memory.buffer, ROWS_AT + from * this.stride * 4, count * this.stride);
    for (let r = 0; r < count; r++) {
      let s = 0;
      for (let k = 0; k < this.dimension; k++) s += rows[r * this.stride + k] * q[k];
      scores[r] = s;
    }
  }

  /** Writes the tsface-index-1 safetensors file through a temporary file (a failed save leaves the old one). */
  save(file: string): void {
    const metadata = { format: 'tsface-index-1', model: this.model, labels: JSON.stringify(this.labels) };
    const dataBytes = this.size * this.dimension * 4;
    let json = JSON.stringify({ __metadata__: metadata, embeddings: { dtype: 'F32', shape: [this.size, this.dimension], data_offsets: [0, dataBytes] } });
    while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
    const header = Buffer.from(json);
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(header.length));
    const tmp = `${file}.partial-${process.pid}`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, prefix);
      writeSync(fd, header);
      // Rows go out in blocks straight from memory (little-endian, as WebAssembly stores floats).
      const block = Math.max(1, Math.floor((1 << 22) / (this.dimension * 4)));
      for (let from = 0; from < this.size; from += block) {
        const count = Math.min(block, this.size - from);
        const out = new Float32Array(count * this.dimension);
        for (let r = 0; r < count; r++) out.set(this.row(from + r), r * this.dimension);
        writeSync(fd, new Uint8Array(out.buffer));
      }
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  }

  /**
   * An index file (FaceIndex's format, JSON or safetensors), read and checked by FaceIndex (bounded,
   * labels and values validated), then packed into one contiguous matrix for the SIMD search.
   */
  static load(file: string, options: { simd?: boolean } = {}): CollectionIndex {
    const read = FaceIndex.load(file);
    const index = new CollectionIndex(read.model, read.dimension, options);
    index.reserve(read.size);
    read.labels.forEach((label, i) => index.add(label, read.vectors[i]));
    return index;
  }

  /** Every embedded face of a scan's JSONL file, labelled IMAGE#FACE. */
  static fromJsonl(file: string, options: { simd?: boolean } = {}): CollectionIndex {
    const read = readEmbeddedFaces(file);
    if (read.faces.length === 0) throw new ArgumentError(`${file} holds no embedded faces (scan with --embed)`);
    const index = new CollectionIndex(read.model ?? 'unknown', read.dimension, options);
    index.reserve(read.faces.length);
    for (const f of read.faces) index.add(`${f.image}#${f.face}`, f.embedding);
    return index;
  }
}
