// Faces in video: detector.track(source) runs MTCNN's full cascade on some frames and, on the
// others, follows each face from where it was a frame ago. By default ('pyramid') the cascade
// runs only around each face: P-Net on the cells of the pyramid levels whose boxes are about the
// face's size (followScales) and reach into its last box widened by followMargin, then R-Net and
// O-Net on what P-Net finds there. Those cells are the whole frame's cells, so a followed face's
// box is the one a full detection gives (a crop of the frame would be resampled on another grid,
// and MTCNN's boxes move by up to a fifth of their area with the grid). 'squares' skips P-Net and
// gives R-Net squares around the last box: cheaper, but its boxes wander from the full
// detection's by that much. Faces keep a
// track id from frame to frame (faceTracks.ts). The full cascade runs on the first frame, every
// `detectEvery` frames (to find faces that came into view), when the frame changed too much to
// trust the old positions, and when following lost a face (to find it elsewhere, or to be sure
// it left, before its track ends).
import { ArgumentError, TsfaceError, checkSignal } from '../errors.ts';
import { toRgbImage, type DecodeOptions } from '../image/decode.ts';
import type { RgbImage } from '../image/rgbImage.ts';
import { alignFace } from './align.ts';
import { FaceTracks } from './faceTracks.ts';
import { followSquares, followWindows, frameChange, frameThumbnail, type Square } from './trackFollow.ts';
import type { PnetWindow } from './trackWindows.ts';
import { sourceFrames, type SourceOptions, type TrackSource } from './trackSources.ts';

export type { TrackSource } from './trackSources.ts';
export type { Square } from './trackFollow.ts';
export type { PnetWindow } from './trackWindows.ts';

/** A face as the detector gives it (FaceDetector's Face). */
export interface DetectedFace {
  box: [number, number, number, number];
  score: number;
  landmarks: [number, number][];
}

export interface TrackedFace extends DetectedFace {
  /** The track's id: the same number for this face in every frame it stays in view; never reused. */
  id: number;
  /** The track's embedding (with `embedder`): computed when the track starts and every `embedEvery` frames after. */
  embedding?: Float32Array;
}

/** Why a frame ran the full cascade. */
export type DetectReason = 'first' | 'interval' | 'change' | 'lost';

export interface TrackFrame {
  /** The frame's position in the source, dropped frames counted (an iterable's item index). */
  index: number;
  /** Source frames skipped since the previous frame given (a camera's frames that came while the tracker was busy; 0 for an iterable). */
  dropped: number;
  /** Media time in seconds, when the source says (a video's). */
  time?: number;
  width: number;
  height: number;
  /** Largest first, as detect() orders them. */
  faces: TrackedFace[];
  /** Why the full cascade ran on this frame; null on a followed frame. */
  detected: DetectReason | null;
  /** Ids of the tracks that started in this frame. */
  started: number[];
  /** Ids of the tracks that ended in this frame (their face not found in it). */
  ended: number[];
  /** Milliseconds this frame took the tracker, from taking it to giving it (reading, nets, embeddings). */
  ms: number;
  /** The frame as the nets saw it. */
  image: RgbImage;
}

/** What track() needs of an embedder (FaceEmbedder has it). */
export interface TrackEmbedder {
  model: { size: number; template: readonly (readonly number[])[] };
  embedCrops(crops: readonly RgbImage[]): Promise<Float32Array[]>;
}

export interface TrackOptions extends SourceOptions {
  /** Run the full cascade at least every this many frames, to find faces that came into view (default 10; 1: every frame). */
  detectEvery?: number;
  /** How a frame between full detections finds the faces again: 'pyramid' (default) or 'squares' (see above). */
  follow?: 'pyramid' | 'squares';
  /**
   * How far a face may move between frames, as a fraction of its side (default 0.15): 'pyramid'
   * looks at its last box widened by this much on every side; 'squares' gives R-Net its last box
   * made square and that square moved this much left, right, up and down (0: the one square).
   */
  followMargin?: number;
  /** 'pyramid': the P-Net levels whose cell boxes (12 / scale pixels) are [min, max] times the face's side (default [0.4, 2.5]). */
  followScales?: readonly [number, number];
  /** Run the full cascade when the frame differs from the previous one by more than this (mean absolute grey difference over a thumbnail, 0..1; default 0.1). */
  sceneChange?: number;
  /** Run the full cascade on a frame where following lost a face seen in the frame before (default true); false ends its track at once. */
  redetectOnLoss?: boolean;
  /** A face continues a track when its box overlaps the track's last box at least this much (IoU, default 0.3). */
  minIoU?: number;
  /** Frames a track may go without its face before it ends (default 0: it ends at the first). */
  keepLost?: number;
  /** Embeds each track's face (a FaceEmbedder): when the track starts and every `embedEvery` frames after. */
  embedder?: TrackEmbedder;
  /** Frames between a track's embeddings (default 30). */
  embedEvery?: number;
}

export const TRACK_DEFAULTS = { detectEvery: 10, follow: 'pyramid', followMargin: 0.15, followScales: [0.4, 2.5] as readonly [number, number], sceneChange: 0.1, redetectOnLoss: true, minIoU: 0.3, keepLost: 0, embedEvery: 30 } as const;

/** The detector as the tracker uses it (FaceDetector). */
export interface TrackingDetector<O> {
  detect(image: RgbImage, options: O): Promise<{ faces: DetectedFace[] }>;
  /** The cascade on the cells of the frame's pyramid that reach into these windows. */
  detectIn(image: RgbImage, windows: readonly PnetWindow[], options: O): Promise<{ faces: DetectedFace[] }>;
  /** R-Net and O-Net on these squares, as if P-Net had proposed them. */
  refineSquares(image: RgbImage, squares: readonly Square[], options: O): Promise<{ faces: DetectedFace[] }>;
}

type Checked = Required<Omit<TrackOptions, 'embedder' | 'streamReader'>>;

function checkTrackOptions(o: TrackOptions): Checked {
  const c = { ...TRACK_DEFAULTS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) } as Checked & TrackOptions;
  const positiveInt = (name: keyof Checked) => {
    const v = c[name] as number;
    if (!(Number.isInteger(v) && v >= 1)) throw new ArgumentError(`${name} must be an integer >= 1, got ${v}`);
  };
  positiveInt('detectEvery');
  positiveInt('embedEvery');
  if (!(Number.isInteger(c.keepLost) && c.keepLost >= 0)) throw new ArgumentError(`keepLost must be an integer >= 0, got ${c.keepLost}`);
  if (!(Number.isFinite(c.followMargin) && c.followMargin >= 0 && c.followMargin <= 1)) throw new ArgumentError(`followMargin must be in [0, 1], got ${c.followMargin}`);
  if (c.follow !== 'pyramid' && c.follow !== 'squares') throw new ArgumentError(`follow must be 'pyramid' or 'squares', got ${JSON.stringify(c.follow)}`);
  const [lo, hi] = Array.isArray(c.followScales) ? c.followScales : [NaN, NaN];
  if (!(c.followScales.length === 2 && lo > 0 && hi >= lo && Number.isFinite(hi))) throw new ArgumentError(`followScales must be [min, max] with 0 < min <= max, got ${JSON.stringify(c.followScales)}`);
  if (!(Number.isFinite(c.sceneChange) && c.sceneChange >= 0 && c.sceneChange <= 1)) throw new ArgumentError(`sceneChange must be in [0, 1], got ${c.sceneChange}`);
  if (!(Number.isFinite(c.minIoU) && c.minIoU > 0 && c.minIoU <= 1)) throw new ArgumentError(`minIoU must be in (0, 1], got ${c.minIoU}`);
  if (typeof c.redetectOnLoss !== 'boolean') throw new ArgumentError(`redetectOnLoss must be true or false, got ${c.redetectOnLoss}`);
  if (o.embedder !== undefined && typeof o.embedder?.embedCrops !== 'function') throw new ArgumentError('embedder must be a FaceEmbedder');
  return c;
}

const now = () => performance.now();

/**
 * The frames of `source` with their faces tracked (see FaceDetector.track). Options are checked
 * here, before anything is read; the source is opened when iteration starts and closed when it
 * ends, fails or is left (break).
 */
export function trackFaces<O extends TrackOptions & DecodeOptions & { signal?: AbortSignal }>(detector: TrackingDetector<O>, source: TrackSource, options: O): AsyncIterable<TrackFrame> {
  const o = checkTrackOptions(options);
  if (source === null || typeof source !== 'object' || typeof source === 'string' || source instanceof Uint8Array) {
    throw new ArgumentError('track() takes a <video> element, a MediaStream, or an iterable of images (one image: use detect())');
  }
  return { [Symbol.asyncIterator]: () => run(detector, source, options, o) };
}

async function* run<O extends TrackOptions & DecodeOptions & { signal?: AbortSignal }>(detector: TrackingDetector<O>, source: TrackSource, options: O, o: Checked): AsyncGenerator<TrackFrame> {
  const { signal, embedder } = options;
  const frames = sourceFrames(source, options);
  const tracks = new FaceTracks(o.minIoU, o.keepLost);
  /** Frames taken so far, and the count at the last full cascade and at each track's last embedding. */
  let taken = 0;
  let lastDetect = -Infinity;
  let index = -1;
  let previous: Float32Array | null = null;
  try {
    for (;;) {
      checkSignal(signal);
      const next = await frames.next();
      if (next.done) return;
      const t0 = now();
      const { input, rgb: given, dropped, time } = next.value;
      index += 1 + dropped;
      const image = given ?? toRgbImage(input!, options);
      const thumbnail = frameThumbnail(image);
      const change = previous ? frameChange(previous, thumbnail) : 1;
      previous = thumbnail;

      let detected: DetectReason | null = taken === 0 ? 'first' : taken - lastDetect >= o.detectEvery ? 'interval' : change > o.sceneChange ? 'change' : null;
      let faces: DetectedFace[] = [];
      if (!detected && tracks.tracks.length > 0) {
        faces = o.follow === 'pyramid'
          ? (await detector.detectIn(image, tracks.tracks.map((t) => followWindows(t.box, o.followMargin, o.followScales)), options)).faces
          : (await detector.refineSquares(image, tracks.tracks.flatMap((t) => followSquares(t.box, o.followMargin)), options)).faces;
        if (o.redetectOnLoss && tracks.continued(faces) < tracks.visible.length) detected = 'lost';
      }
      if (detected) {
        checkSignal(signal);
        faces = (await detector.detect(image, options)).faces;
        lastDetect = taken;
      }
      const update = tracks.update(faces, index);
      const out: TrackedFace[] = faces.map((f, j) => ({ id: update.ids[j], box: f.box, score: f.score, landmarks: f.landmarks }));
      if (embedder) await embedTracks(embedder, tracks, image, out, taken, o.embedEvery);
      taken++;
      yield { index, dropped, time, width: image.width, height: image.height, faces: out, detected, started: update.started, ended: update.ended, ms: now() - t0, image };
    }
  } finally {
    await frames.return?.();
  }
}

/** Embeds the faces whose tracks have no embedding yet or an older one than `every` frames, in one batch. */
async function embedTracks(embedder: TrackEmbedder, tracks: FaceTracks, image: RgbImage, faces: TrackedFace[], taken: number, every: number): Promise<void> {
  const due: { face: TrackedFace; crop: RgbImage }[] = [];
  for (const face of faces) {
    const track = tracks.byId(face.id)!;
    if (track.embeddedAt >= 0 && taken - track.embeddedAt < every) continue;
    // A face that cannot be aligned (too small, landmarks off) is tried again `every` frames on.
    track.embeddedAt = taken;
    try {
      due.push({ face, crop: alignFace(image, face.landmarks, { size: embedder.model.size, template: embedder.model.template }).crop });
    } catch (e) {
      if (!(e instanceof TsfaceError)) throw e;
    }
  }
  const embeddings = await embedder.embedCrops(due.map((d) => d.crop));
  due.forEach((d, k) => (tracks.byId(d.face.id)!.embedding = embeddings[k]));
  for (const face of faces) {
    const embedding = tracks.byId(face.id)!.embedding;
    if (embedding) face.embedding = embedding;
  }
}
