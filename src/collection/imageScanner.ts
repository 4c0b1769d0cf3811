// One image to one output line: detect, choose faces, and (with embed) align and embed them.
// Shared by the local scan and the queue worker, so both write the same line for an image.
import { alignFace } from '../pipeline/align.ts';
import { embeddingModel, FaceEmbedder, type EmbeddingModelSpec } from '../pipeline/embed.ts';
import { toRgbImage, type RgbImage } from '../image/decode.ts';
import { FaceDetector, type Face } from '../pipeline/mtcnn.ts';
import type { Backend } from '../tensor/backend.ts';
import { ArgumentError, TsfaceError } from '../errors.ts';
import { shortFloat32, type FaceRecord, type ImageLine } from './jsonl.ts';

export const SELECTIONS = ['all', 'largest', 'confident', 'center'] as const;
export type ScanSelection = (typeof SELECTIONS)[number];

export interface ScanSettings {
  /** Embed every face (align on its landmarks, run the embedding model). */
  embed?: boolean;
  /** Embedding model name (default mobilefacenet). */
  model?: string;
  select?: ScanSelection;
  /** Refuse images with more pixels than this (default: the decoder's limit). */
  maxPixels?: number;
}

export function checkSettings(s: ScanSettings): Required<Omit<ScanSettings, 'maxPixels'>> & Pick<ScanSettings, 'maxPixels'> {
  const select = s.select ?? 'all';
  if (!SELECTIONS.includes(select)) throw new ArgumentError(`--select must be one of ${SELECTIONS.join(', ')}, got '${select}'`);
  const model = s.model ?? 'mobilefacenet';
  embeddingModel(model); // unknown names fail before any image is read
  if (s.maxPixels !== undefined && !(Number.isInteger(s.maxPixels) && s.maxPixels > 0)) throw new ArgumentError(`maxPixels must be a positive integer, got ${s.maxPixels}`);
  return { embed: s.embed ?? false, model, select, maxPixels: s.maxPixels };
}

/** The face whose box centre is nearest the image centre (the subject of a portrait). */
function centralFace(faces: readonly Face[], width: number, height: number): Face[] {
  let best: Face | null = null;
  let bestDistance = Infinity;
  for (const f of faces) {
    const d = Math.hypot((f.box[0] + f.box[2]) / 2 - width / 2, (f.box[1] + f.box[3]) / 2 - height / 2);
    if (d < bestDistance) { best = f; bestDistance = d; }
  }
  return best ? [best] : [];
}

/**
 * The faces by their area inside the photo, largest first (stable). The detector lists them by
 * their whole box's area, as facenet-pytorch does, and MTCNN extends the box of a face cut by the
 * frame past the edge: on LFW's 150x150 crops a half-visible neighbour at the border came first in
 * 287 of 9,525 photos, ahead of the photo's subject. A collection's first face is its subject.
 */
export function byVisibleArea(faces: readonly Face[], width: number, height: number): Face[] {
  const visible = (f: Face) => Math.max(0, Math.min(f.box[2], width) - Math.max(f.box[0], 0)) * Math.max(0, Math.min(f.box[3], height) - Math.max(f.box[1], 0));
  const areas = faces.map(visible);
  return faces.map((_, i) => i).sort((a, b) => areas[b] - areas[a] || a - b).map((i) => faces[i]);
}

export class ImageScanner {
  readonly settings: ReturnType<typeof checkSettings>;
  readonly detector: FaceDetector;
  private embedder: FaceEmbedder | null = null;
  private readonly spec: EmbeddingModelSpec;

  constructor(backend: Backend, settings: ScanSettings = {}) {
    this.settings = checkSettings(settings);
    this.spec = embeddingModel(this.settings.model);
    this.detector = new FaceDetector({ backend });
    if (this.settings.embed) this.embedder = new FaceEmbedder({ detector: this.detector, model: this.settings.model });
  }

  /** The line for a decoded image; `stat` is the file's size and mtime as the walk saw them. */
  async analyse(image: string, rgb: RgbImage, stat: { size?: number; mtime?: number }): Promise<ImageLine> {
    const { select } = this.settings;
    const detection = await this.detector.detect(rgb, { selection: select === 'confident' ? 'confident' : 'all' });
    const faces = select === 'center' ? centralFace(detection.faces, rgb.width, rgb.height)
      : select === 'confident' ? detection.faces
        : byVisibleArea(detection.faces, rgb.width, rgb.height).slice(0, select === 'largest' ? 1 : undefined);
    const records: FaceRecord[] = faces.map((f) => ({ box: f.box, score: f.score, landmarks: f.landmarks }));
    const line: ImageLine = { image, size: stat.size, mtime: stat.mtime, width: rgb.width, height: rgb.height };
    if (this.embedder) {
      line.model = this.spec.name;
      const crops = [];
      const owners: FaceRecord[] = [];
      for (const [i, f] of faces.entries()) {
        try {
          crops.push(alignFace(rgb, f.landmarks, { size: this.spec.size, template: this.spec.template }).crop);
          owners.push(records[i]);
        } catch (e) {
          // A face that cannot be aligned (landmarks off the image, eyes too close) keeps its line without an embedding.
          if (!(e instanceof TsfaceError)) throw e;
        }
      }
      const embeddings = await this.embedder.embedCrops(crops);
      owners.forEach((r, i) => { r.embedding = Array.from(embeddings[i], shortFloat32); });
    }
    line.faces = records;
    return line;
  }
}

/** An error line; the error's own copy of the path is dropped, the line names the image already. */
export function errorLine(image: string, e: Error, stat: { size?: number; mtime?: number } = {}): ImageLine {
  const prefix = `${image}: `;
  const message = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
  return { image, size: stat.size, mtime: stat.mtime, error: message };
}

/**
 * Reads, decodes and analyses one file on this thread: a photo thread's whole job. Failures
 * become the line's error, worded as the decoding threads of a one-thread scan word them.
 */
export async function scanFile(scanner: ImageScanner, image: string, stat: { size?: number; mtime?: number }): Promise<ImageLine> {
  let rgb: RgbImage;
  try {
    rgb = toRgbImage(image, { maxPixels: scanner.settings.maxPixels });
  } catch (e) {
    return errorLine(image, e as Error, stat);
  }
  try {
    return await scanner.analyse(image, rgb, stat);
  } catch (e) {
    return errorLine(image, e as Error, stat);
  }
}
