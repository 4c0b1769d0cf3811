// Faces to embeddings: detect (MTCNN), align on five landmarks, run the embedding net, L2-normalise.
import { existsSync } from 'node:fs';
import { openFaceCachePath } from '../io/cachePaths.ts';
import { loadMobileFaceNet, loadNn4Small2, nn4FromTensors, readWeightsFile, weightsName, type WeightsSource } from '../nets/weights.ts';
import { loadBundledWeights } from '../platform/index.ts';
import type { Net } from '../nets/net.ts';
import type { Backend } from '../tensor/backend.ts';
import { CpuBackend } from '../tensor/cpu/backend.ts';
import { ArgumentError, checkSignal, TsfaceError } from '../errors.ts';
import { Tensor } from '../tensor/tensor.ts';
import { alignFace, TEMPLATE_112, TEMPLATE_96, type Affine } from './align.ts';
import { toRgbImage, type ImageInput, type RgbImage } from '../image/decode.ts';
import { FaceDetector, type DetectOptions, type Face } from './mtcnn.ts';

export interface EmbeddingModelSpec {
  name: string;
  size: number;
  template: readonly (readonly number[])[];
  /** Pixel (0..255) to network input, in float32. */
  normalize: (v: number) => number;
  /** Cosine similarity at or above which two faces are taken for the same person. */
  threshold: number;
  load: (weights?: WeightsSource) => Net;
  /** The file name of the weights tsface bundles for this model, if it bundles any. */
  bundled?: string;
}

export const MOBILEFACENET: EmbeddingModelSpec = {
  name: 'mobilefacenet',
  size: 112,
  template: TEMPLATE_112,
  normalize: (v) => Math.fround(Math.fround(v - 127.5) / 128),
  // The best LFW threshold of an independent Python pipeline with these weights, MTCNN and this
  // alignment (../shared/docs/mobilefacenet.md): cosine 0.39 (Euclidean 1.10 on unit vectors).
  threshold: 0.39,
  load: (weights) => loadMobileFaceNet(weights),
  bundled: 'mobilefacenet.safetensors',
};

export const NN4_SMALL2_V1: EmbeddingModelSpec = {
  name: 'nn4.small2.v1',
  size: 96,
  template: TEMPLATE_96,
  normalize: (v) => Math.fround(v / 255),
  // Not calibrated here (the shared dump lacks five tensors): cosine 0.5 is squared L2 1.0 on
  // unit vectors, near the distances OpenFace's own demos use. Recalibrate with eval-lfw.
  threshold: 0.5,
  load: (weights) => {
    // The fetched OpenFace file, and a file that is not there, keep the OpenFace loader and its
    // "run tsface weights fetch openface" advice.
    if (weights === undefined || weights === openFaceCachePath()) return loadNn4Small2(openFaceCachePath());
    if (typeof weights === 'string' && !existsSync(weights)) return loadNn4Small2(weights);
    const { tensors, metadata } = readWeightsFile(weights);
    // A file `tsface train` wrote says so in its metadata (and openface=false): it is the user's
    // net of this architecture, not OpenFace's, and loads as that.
    return nn4FromTensors(tensors, metadata, weightsName(weights), { allowStandIns: metadata.trained_by === 'tsface train' });
  },
};

const MODELS = new Map<string, EmbeddingModelSpec>([[MOBILEFACENET.name, MOBILEFACENET], [NN4_SMALL2_V1.name, NN4_SMALL2_V1]]);

export function registerEmbeddingModel(spec: EmbeddingModelSpec): void {
  MODELS.set(spec.name, spec);
}

export function embeddingModel(name: string): EmbeddingModelSpec {
  const spec = MODELS.get(name);
  if (!spec) throw new ArgumentError(`unknown embedding model '${name}' (known: ${[...MODELS.keys()].join(', ')})`);
  return spec;
}

export interface EmbeddedFace extends Face {
  /** L2-normalised embedding. */
  embedding: Float32Array;
  /** The aligned crop the embedding was computed from. */
  crop: RgbImage;
  transform: Affine;
}

export interface FaceEmbedderOptions {
  backend?: Backend;
  model?: string;
  /** Weights for the embedding model, a path or the bytes (default: the bundled ones, where there are). */
  weights?: WeightsSource;
  detector?: FaceDetector;
  /** MTCNN weights for the detector made here when none is given (default: the bundled ones). */
  detectorWeights?: WeightsSource;
}

export class FaceEmbedder {
  readonly backend: Backend;
  readonly model: EmbeddingModelSpec;
  readonly net: Net;
  readonly detector: FaceDetector;
  private readonly ownsBackend: boolean;

  constructor(o: FaceEmbedderOptions = {}) {
    this.ownsBackend = !o.backend && !o.detector;
    this.backend = o.backend ?? o.detector?.backend ?? new CpuBackend();
    this.model = embeddingModel(o.model ?? 'mobilefacenet');
    this.net = this.model.load(o.weights);
    this.detector = o.detector ?? new FaceDetector({ backend: this.backend, weights: o.detectorWeights });
  }

  /** An embedder whose weights load asynchronously: the same call in Node and in a page (see FaceDetector.create). */
  static async create(o: FaceEmbedderOptions = {}): Promise<FaceEmbedder> {
    const model = embeddingModel(o.model ?? 'mobilefacenet');
    const weights = o.weights ?? (model.bundled ? await loadBundledWeights(model.bundled) : undefined);
    const detectorWeights = o.detector ? undefined : o.detectorWeights ?? (await loadBundledWeights('mtcnn.safetensors'));
    return new FaceEmbedder({ ...o, weights, detectorWeights });
  }

  /** Embeddings of aligned crops (size x size RGB), one batch through the net. */
  async embedCrops(crops: readonly RgbImage[]): Promise<Float32Array[]> {
    if (crops.length === 0) return [];
    const s = this.model.size;
    const x = new Tensor([crops.length, 3, s, s]);
    const plane = s * s;
    crops.forEach((crop, n) => {
      if (crop.width !== s || crop.height !== s) throw new ArgumentError(`${this.model.name} needs ${s}x${s} crops, got ${crop.width}x${crop.height}`);
      for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) x.data[(n * 3 + c) * plane + p] = this.model.normalize(crop.data[p * 3 + c]);
    });
    const { output } = await this.net.forward(this.backend, x);
    const normalized = await this.backend.l2Normalize(output.reshape([crops.length, output.size / crops.length]));
    const d = normalized.shape[1];
    return crops.map((_, n) => normalized.data.slice(n * d, (n + 1) * d));
  }

  /** Detects, aligns and embeds every face of an image (or of faces already detected on it). */
  async embed(image: ImageInput, options: DetectOptions & { faces?: readonly Face[] } = {}): Promise<{ width: number; height: number; faces: EmbeddedFace[]; skipped: { face: Face; reason: string }[] }> {
    const rgb = toRgbImage(image, options);
    const faces = options.faces ?? (await this.detector.detect(rgb, options)).faces;
    checkSignal(options.signal);
    const aligned: { face: Face; crop: RgbImage; transform: Affine }[] = [];
    const skipped: { face: Face; reason: string }[] = [];
    for (const face of faces) {
      try {
        aligned.push({ face, ...alignFace(rgb, face.landmarks, { size: this.model.size, template: this.model.template }) });
      } catch (e) {
        if (!(e instanceof TsfaceError)) throw e;
        skipped.push({ face, reason: e.message });
      }
    }
    const embeddings = await this.embedCrops(aligned.map((a) => a.crop));
    return {
      width: rgb.width,
      height: rgb.height,
      faces: aligned.map((a, i) => ({ ...a.face, embedding: embeddings[i], crop: a.crop, transform: a.transform })),
      skipped,
    };
  }

  async dispose(): Promise<void> {
    if (this.ownsBackend) await this.backend.dispose();
  }
}

const sharedEmbedders = new Map<string, FaceEmbedder>();

/**
 * Embeddings of every face of an image (detected, aligned, embedded), or of faces already
 * detected on it, with a shared embedder per model (CPU backend, bundled weights).
 */
export async function embed(image: ImageInput, options: DetectOptions & { model?: string; faces?: readonly Face[] } = {}): Promise<EmbeddedFace[]> {
  const model = options.model ?? 'mobilefacenet';
  let e = sharedEmbedders.get(model);
  if (!e) {
    e = new FaceEmbedder({ model });
    sharedEmbedders.set(model, e);
  }
  return (await e.embed(image, options)).faces;
}
