// The embedded faces of a scan's JSONL file, for clustering and indexing.
import { existsSync } from 'node:fs';
import { ArgumentError, InputValueError } from '../errors.ts';
import { forEachLine, parseLine, type FaceRecord } from './jsonl.ts';

export interface EmbeddedFaceRef {
  image: string;
  /** Index of the face in its image's line. */
  face: number;
  box: FaceRecord['box'];
  landmarks: FaceRecord['landmarks'];
  embedding: Float32Array;
}

export interface EmbeddedFaces {
  faces: EmbeddedFaceRef[];
  /** The embedding model named on the lines (null when no line names one). */
  model: string | null;
  dimension: number;
  /** Lines that were not image lines (torn or foreign), and faces without an embedding. */
  skippedLines: number;
  unembedded: number;
}

export function readEmbeddedFaces(file: string): EmbeddedFaces {
  if (!existsSync(file)) throw new ArgumentError(`${file} does not exist`);
  const faces: EmbeddedFaceRef[] = [];
  let model: string | null = null;
  let dimension = 0;
  let skippedLines = 0;
  let unembedded = 0;
  let lineNumber = 0;
  forEachLine(file, (text) => {
    lineNumber++;
    if (!text.trim()) return;
    const line = parseLine(text);
    if (!line) { skippedLines++; return; }
    if (!line.faces) return;
    line.faces.forEach((f, i) => {
      if (!Array.isArray(f.embedding)) { unembedded++; return; }
      if (line.model && model && line.model !== model) throw new InputValueError(`${file}:${lineNumber}: embeddings of ${line.model} mixed with ${model}; scan with one model`);
      model ??= line.model ?? null;
      if (dimension === 0) dimension = f.embedding.length;
      if (f.embedding.length !== dimension || !f.embedding.every(Number.isFinite)) {
        throw new InputValueError(`${file}:${lineNumber}: face ${i} has a malformed embedding (${f.embedding.length} values, expected ${dimension} finite numbers)`);
      }
      faces.push({ image: line.image, face: i, box: f.box, landmarks: f.landmarks, embedding: Float32Array.from(f.embedding) });
    });
  });
  return { faces, model, dimension, skippedLines, unembedded };
}
