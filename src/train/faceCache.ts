// Aligned face crops of training photos, detected once and kept on disk. A crop is stored as a
// PNG named by the SHA-256 of the photo's bytes, in a folder named by a hash of every setting
// that changes the crop (model input size and template, degradation, upscaling, detector,
// JPEG decoder): a second run or epoch reads the PNG, a changed setting reads another folder.
// Photos without a face leave a small ".none" file, so they are not detected again either.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../io/cachePaths.ts';
import { DEFAULT_MAX_BYTES } from '../io/limits.ts';
import { readBoundedFile } from '../io/readFile.ts';
import { writeFileAtomic } from '../io/writeFile.ts';
import { encodePng } from '../collection/sheet.ts';
import { alignFace } from '../pipeline/align.ts';
import type { EmbeddingModelSpec } from '../pipeline/embed.ts';
import { decodeImage, type RgbImage } from '../image/decode.ts';
import type { FaceDetector } from '../pipeline/mtcnn.ts';
import { decodePng } from '../image/png/decode.ts';
import { resizeBicubic } from '../image/resize.ts';
import { ImageError, TsfaceError } from '../errors.ts';
import { degrade, formatDegradation, type Degradation } from './degrade.ts';

/** Bumped whenever the way a crop is made changes, so old caches are not read as new ones. */
const CACHE_FORMAT = 1;

export interface FacePrepSettings {
  model: Pick<EmbeddingModelSpec, 'name' | 'size' | 'template'>;
  degradation: readonly Degradation[];
  /**
   * Photos whose longer side is under this are first enlarged to it (PIL bicubic), as eval-lfw's
   * --upscale does for LFW's 150 px photos, so training crops are made the way evaluation makes
   * them. 0: never.
   */
  upscale: number;
}

export function defaultFaceCacheDir(): string {
  return join(cacheDir(), 'faces');
}

/** Everything that decides a crop's pixels, as one string (hashed into the folder name). */
export function settingsKey(s: FacePrepSettings): string {
  return JSON.stringify({
    format: CACHE_FORMAT,
    size: s.model.size,
    template: s.model.template,
    degrade: formatDegradation(s.degradation),
    upscale: s.upscale,
    // The detector: bundled MTCNN, default thresholds, the face nearest the centre.
    detector: 'mtcnn-bundled/default/center',
    decoder: process.env.TSFACE_JPEG_DECODER ?? 'tsface',
  });
}

export type CropResult =
  | { kind: 'face'; crop: RgbImage; hash: string }
  | { kind: 'noFace'; reason: string; hash: string }
  | { kind: 'unreadable'; reason: string };

export interface CacheCounts {
  /** Crops (or "no face" answers) read from the cache. */
  cached: number;
  /** Photos the detector ran on in this process. */
  detected: number;
}

export class FaceCache {
  readonly folder: string;
  readonly counts: CacheCounts = { cached: 0, detected: 0 };

  constructor(root: string, readonly settings: FacePrepSettings, private readonly detector: FaceDetector) {
    const key = createHash('sha256').update(settingsKey(settings)).digest('hex').slice(0, 16);
    this.folder = join(root, `${settings.model.name}-${settings.model.size}-${key}`);
  }

  /** The face crop of one photo: from the cache, else detected, aligned and stored. */
  async crop(path: string): Promise<CropResult> {
    let bytes: Uint8Array;
    let hash: string;
    try {
      bytes = readBoundedFile(path, DEFAULT_MAX_BYTES.image, (reason) => new ImageError(reason, path));
      hash = createHash('sha256').update(bytes).digest('hex');
    } catch (e) {
      if (e instanceof TsfaceError) return { kind: 'unreadable', reason: e.message };
      throw e;
    }
    const base = join(this.folder, hash.slice(0, 2), hash);
    if (existsSync(`${base}.png`)) {
      try {
        const crop = decodePng(readFileSync(`${base}.png`), `${base}.png`);
        if (crop.width === this.settings.model.size && crop.height === this.settings.model.size) {
          this.counts.cached++;
          return { kind: 'face', crop, hash };
        }
      } catch (e) {
        // A damaged cache entry is made again below, never trusted.
        if (!(e instanceof TsfaceError)) throw e;
      }
    } else if (existsSync(`${base}.none`)) {
      this.counts.cached++;
      return { kind: 'noFace', reason: readFileSync(`${base}.none`, 'utf8'), hash };
    }
    let image: RgbImage;
    try {
      image = decodeImage(bytes, {}, path);
    } catch (e) {
      if (e instanceof TsfaceError) return { kind: 'unreadable', reason: e.message };
      throw e;
    }
    this.counts.detected++;
    const result = await this.detectAndAlign(image);
    mkdirSync(join(this.folder, hash.slice(0, 2)), { recursive: true });
    const fail = (reason: string) => new ImageError(`face cache: ${reason}`, base);
    if ('crop' in result) writeFileAtomic(`${base}.png`, encodePng(result.crop), fail);
    else writeFileAtomic(`${base}.none`, new TextEncoder().encode(result.reason), fail);
    return 'crop' in result ? { kind: 'face', crop: result.crop, hash } : { kind: 'noFace', reason: result.reason, hash };
  }

  private async detectAndAlign(photo: RgbImage): Promise<{ crop: RgbImage } | { reason: string }> {
    let img = degrade(photo, this.settings.degradation);
    const { upscale } = this.settings;
    const longer = Math.max(img.width, img.height);
    if (upscale > 0 && longer < upscale) {
      const s = upscale / longer;
      img = resizeBicubic(img, Math.round(img.width * s), Math.round(img.height * s));
    }
    const { faces } = await this.detector.detect(img, { selection: 'center' });
    if (faces.length === 0) return { reason: 'no face detected' };
    try {
      return { crop: alignFace(img, faces[0].landmarks, { size: this.settings.model.size, template: this.settings.model.template }).crop };
    } catch (e) {
      if (e instanceof TsfaceError) return { reason: e.message };
      throw e;
    }
  }
}
