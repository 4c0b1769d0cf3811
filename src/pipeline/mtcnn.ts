// MTCNN's cascade (Zhang et al. 2016) as facenet-pytorch runs it: image pyramid -> P-Net ->
// NMS per scale and across scales -> R-Net on 24x24 crops -> O-Net on 48x48 crops with five
// landmarks -> 'Min' NMS. The arithmetic follows the reference step for step (float32 boxes,
// >= vs > thresholds, truncating crops, tie order), see docs in ../shared/docs/mtcnn.md.
import { loadMtcnn, type MtcnnNets, type WeightsSource } from '../nets/weights.ts';
import { loadBundledWeights } from '../platform/index.ts';
import type { Backend } from '../tensor/backend.ts';
import { CpuBackend } from '../tensor/cpu/backend.ts';
import { withIntegral, type RgbPixels } from '../tensor/cpu/resample.ts';
import { ArgumentError, checkSignal } from '../errors.ts';
import { stackBatch, Tensor } from '../tensor/tensor.ts';
import { boxArea, cropRegion, regress, square, type Candidate } from './boxes.ts';
import { toRgbImage, type DecodeOptions, type ImageInput, type RgbImage } from '../image/decode.ts';
import { nmsMin, nmsUnion, type Box } from './nms.ts';
import { imageLevel, pnetCells, pnetTileList, readPnetTile, runPnetTile, type LevelSource, type TileCells } from './pnetBands.ts';
import type { Region } from '../tensor/geometry.ts';
import { trackFaces, type Square, type TrackFrame, type TrackOptions, type TrackSource } from './track.ts';
import { windowTiles, type PnetWindow } from './trackWindows.ts';

const f = Math.fround;

export interface Face {
  /** [x1, y1, x2, y2] in the original image's pixels; not clipped, may extend past the edges. */
  box: [number, number, number, number];
  score: number;
  /** Left eye, right eye, nose, left mouth corner, right mouth corner, as seen in the image. */
  landmarks: [number, number][];
}

/**
 * 'all' (largest first), 'largest' (one), 'confident' (all, by score), 'center' (one: the face
 * whose box centre is nearest the image centre, the photo's subject in LFW-style crops).
 */
export type FaceSelection = 'all' | 'largest' | 'confident' | 'center';

export interface DetectOptions extends DecodeOptions {
  /** Smallest face side in pixels that the pyramid looks for (default 20). */
  minFaceSize?: number;
  /** Ratio between pyramid levels (default 0.709). */
  scaleFactor?: number;
  /** Face-probability thresholds of P-Net, R-Net, O-Net (default [0.6, 0.7, 0.7]). */
  thresholds?: readonly [number, number, number];
  /** 'all' (default, largest first), 'largest' (one face), 'confident' (sorted by score) or 'center' (the one nearest the image centre). */
  selection?: FaceSelection;
  /** Keep at most this many faces after selection. */
  maxFaces?: number;
  /** Keep every stage's candidates and P-Net's probability maps in the report (for `inspect`). */
  keepStages?: boolean;
  /**
   * Stops the detection between stages (after decoding, after each P-Net scale, after R-Net) with
   * an AbortedError once it fires: `AbortSignal.timeout(ms)` is a deadline.
   */
  signal?: AbortSignal;
}

export interface StageBoxes {
  /** P-Net cells over the threshold, all scales. */
  pnet: Box[];
  /** After NMS within and across scales, regression and squaring. */
  pnetNms: Box[];
  /** After R-Net's threshold, NMS, regression and squaring. */
  rnet: Box[];
  /** O-Net's output before selection. */
  onet: Box[];
  /** P-Net's face probability per scale (height x width cells, one cell per 2 pixels of that scale). */
  probMaps: { scale: number; height: number; width: number; data: Float32Array }[];
}

/** What each stage kept and how long it took, for `detect --explain` and the benchmark. */
export interface DetectionReport {
  scales: number[];
  counts: {
    pnetCandidates: number;
    afterScaleNms: number;
    afterPyramidNms: number;
    rnetInput: number;
    rnetPassed: number;
    afterRnetNms: number;
    onetInput: number;
    onetPassed: number;
    faces: number;
  };
  ms: { decode: number; pyramid: number; pnet: number; rnet: number; onet: number; post: number };
  stages?: StageBoxes;
}

export interface Detection {
  width: number;
  height: number;
  faces: Face[];
  report: DetectionReport;
}

const DEFAULTS = { minFaceSize: 20, scaleFactor: 0.709, thresholds: [0.6, 0.7, 0.7] as const };

function checkOptions(o: DetectOptions): Required<Pick<DetectOptions, 'minFaceSize' | 'scaleFactor' | 'thresholds'>> {
  const minFaceSize = o.minFaceSize ?? DEFAULTS.minFaceSize;
  const scaleFactor = o.scaleFactor ?? DEFAULTS.scaleFactor;
  const thresholds = o.thresholds ?? DEFAULTS.thresholds;
  if (!(Number.isFinite(minFaceSize) && minFaceSize >= 12)) throw new ArgumentError(`minFaceSize must be a number >= 12, got ${minFaceSize}`);
  if (!(Number.isFinite(scaleFactor) && scaleFactor > 0.1 && scaleFactor < 1)) throw new ArgumentError(`scaleFactor must be in (0.1, 1), got ${scaleFactor}`);
  if (thresholds.length !== 3 || !thresholds.every((t) => Number.isFinite(t) && t >= 0 && t <= 1)) {
    throw new ArgumentError(`thresholds must be three numbers in [0, 1], got ${JSON.stringify(thresholds)}`);
  }
  if (o.maxFaces !== undefined && !(Number.isInteger(o.maxFaces) && o.maxFaces >= 0)) throw new ArgumentError(`maxFaces must be a non-negative integer, got ${o.maxFaces}`);
  if (o.selection !== undefined && !['all', 'largest', 'confident', 'center'].includes(o.selection)) throw new ArgumentError(`unknown selection '${o.selection}'`);
  return { minFaceSize, scaleFactor, thresholds };
}

/** Pyramid scales: from 12/minFaceSize while the short side stays >= 12 pixels (f64, as the reference). */
export function pyramidScales(width: number, height: number, minFaceSize: number, factor: number): number[] {
  const m = 12 / minFaceSize;
  let minl = Math.min(width, height) * m;
  let s = m;
  const scales: number[] = [];
  while (minl >= 12) {
    scales.push(s);
    s *= factor;
    minl *= factor;
  }
  return scales;
}

const now = () => performance.now();

/** One pyramid level of a detection: its size, its source once a tile asks for it, and the cells found. */
interface PyramidLevel {
  scale: number;
  h: number;
  w: number;
  source: Promise<Tensor | LevelSource> | null;
  cells: number[];
  hits: Candidate[];
  probMap: Float32Array | null;
}

/**
 * Crops per R-Net/O-Net batch: big enough to share between threads, small enough to bound memory
 * (see refineBatches). R-Net's activations are about 160 KB a crop; at 256 a batch's working set
 * (40 MB) stayed in the backend's pool of released buffers, and a 12-megapixel photo's 761
 * candidates peaked 25 MB higher on one thread than at 64 (`npm run bench:soak -- --peak 12`).
 */
const REFINE_BATCH = 64;

export interface FaceDetectorOptions {
  backend?: Backend;
  /** A tsface MTCNN safetensors file (path, or its bytes); the bundled weights by default. */
  weights?: WeightsSource;
}

export class FaceDetector {
  readonly backend: Backend;
  readonly nets: MtcnnNets;
  private readonly ownsBackend: boolean;

  constructor(options: FaceDetectorOptions = {}) {
    this.ownsBackend = !options.backend;
    this.backend = options.backend ?? new CpuBackend();
    this.nets = loadMtcnn(options.weights);
  }

  /**
   * A detector whose weights are loaded asynchronously: the same call in Node (read from the
   * package) and in a page (fetched from beside the bundle), where the constructor cannot load
   * bundled weights.
   */
  static async create(options: FaceDetectorOptions = {}): Promise<FaceDetector> {
    const weights = options.weights ?? (await loadBundledWeights('mtcnn.safetensors'));
    return new FaceDetector({ ...options, weights });
  }

  async detect(image: ImageInput, options: DetectOptions = {}): Promise<Detection> {
    return (await this.detectBatch([image], options))[0];
  }

  /**
   * Detects faces in several images of any sizes: P-Net runs per image and scale, then the
   * R-Net and O-Net crops of all images go through the nets as one batch.
   */
  async detectBatch(images: readonly ImageInput[], options: DetectOptions = {}): Promise<Detection[]> {
    return this.cascade(images, options);
  }

  /**
   * The full cascade on parts of one image: P-Net on the cells of every pyramid level that reach
   * into `windows` (image pixels), then R-Net and O-Net as detect() runs them. Each level's cells
   * are the whole image's, so the faces inside the windows are the ones detect() finds there:
   * how track() follows faces between full detections.
   */
  async detectIn(image: ImageInput, windows: readonly PnetWindow[], options: DetectOptions = {}): Promise<Detection> {
    return (await this.cascade([image], options, windows))[0];
  }

  private async cascade(images: readonly ImageInput[], options: DetectOptions, windows?: readonly PnetWindow[]): Promise<Detection[]> {
    const opts = checkOptions(options);
    const { signal } = options;
    checkSignal(signal);
    const t0 = now();
    // On the CPU backend an integral image (small photos only) serves every pyramid level and
    // crop of this detection.
    const hostTensors = this.backend.capabilities.hostTensors;
    const rgb: RgbPixels[] = images.map((img) => (hostTensors ? withIntegral(toRgbImage(img, options)) : toRgbImage(img, options)));
    try {
      return await this.cascadeOn(rgb, t0, opts, options, windows);
    } finally {
      // The integrals' memories go to the next detection's (nothing here keeps an image).
      for (const img of rgb) img.integralImage?.dispose();
    }
  }

  private async cascadeOn(rgb: RgbPixels[], t0: number, opts: ReturnType<typeof checkOptions>, options: DetectOptions, windows?: readonly PnetWindow[]): Promise<Detection[]> {
    const { signal } = options;
    checkSignal(signal);
    const tDecode = now() - t0;
    const reports = rgb.map((): DetectionReport => ({
      stages: options.keepStages ? { pnet: [], pnetNms: [], rnet: [], onet: [], probMaps: [] } : undefined,
      scales: [],
      counts: { pnetCandidates: 0, afterScaleNms: 0, afterPyramidNms: 0, rnetInput: 0, rnetPassed: 0, afterRnetNms: 0, onetInput: 0, onetPassed: 0, faces: 0 },
      ms: { decode: tDecode / rgb.length, pyramid: 0, pnet: 0, rnet: 0, onet: 0, post: 0 },
    }));

    let boxes: Candidate[] = [];
    for (let i = 0; i < rgb.length; i++) {
      boxes.push(...(await this.stage1(rgb[i], i, opts, reports[i], signal, windows)));
      checkSignal(signal);
    }

    const [, t2, t3] = opts.thresholds.map((t) => f(t));
    const snapshot = (stage: keyof Omit<StageBoxes, 'probMaps'>) => {
      for (const b of boxes) reports[b.image].stages?.[stage].push({ x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2, score: b.score });
    };
    snapshot('pnetNms');
    let t = now();
    boxes = await this.refine(rgb, boxes, 24, t2, reports, 'rnet');
    for (const r of reports) r.ms.rnet = (now() - t) / rgb.length;
    snapshot('rnet');
    checkSignal(signal);
    t = now();
    boxes = await this.refine(rgb, boxes, 48, t3, reports, 'onet');
    for (const r of reports) r.ms.onet = (now() - t) / rgb.length;
    snapshot('onet');

    return rgb.map((img, i) => {
      const tp = now();
      const faces = select(boxes.filter((b) => b.image === i), options, img.width, img.height);
      reports[i].counts.faces = faces.length;
      reports[i].ms.post += now() - tp;
      return { width: img.width, height: img.height, faces, report: reports[i] };
    });
  }

  private async stage1(img: RgbImage, image: number, opts: ReturnType<typeof checkOptions>, report: DetectionReport, signal?: AbortSignal, windows?: readonly PnetWindow[]): Promise<Candidate[]> {
    if (img.width < 12 || img.height < 12) return [];
    const threshold = f(opts.thresholds[0]);
    const scales = pyramidScales(img.width, img.height, opts.minFaceSize, opts.scaleFactor);
    report.scales = scales;
    const levels = scales.map((scale): PyramidLevel => {
      const h = Math.trunc(img.height * scale + 1);
      const w = Math.trunc(img.width * scale + 1);
      return { scale, h, w, source: null, cells: [], hits: [], probMap: report.stages ? new Float32Array(pnetCells(h) * pnetCells(w)) : null };
    });
    // Tiles of every level are independent: a backend that runs several passes at once (the CPU
    // backend's threads) is given that many, largest levels first. Each level's cells are put
    // back in row-major order after, as the reference takes them, so the candidates do not
    // depend on which tile finished first.
    const tiles = levels.flatMap((level, k) => (windows ? windowTiles(level.scale, level.h, level.w, windows) : pnetTileList(this.backend, level.h, level.w)).map((tile) => ({ k, tile })));
    const lanes = Math.min(tiles.length, this.backend.concurrentPasses?.() ?? 1);
    let next = 0;
    const t = now();
    const before = report.ms.pyramid + report.ms.post;
    const take = async (spare?: Float32Array) => {
      const j = next++;
      if (j >= tiles.length) return null;
      checkSignal(signal);
      const level = levels[tiles[j].k];
      level.source ??= this.pyramidLevel(img, level.h, level.w, report);
      return { level, tile: tiles[j].tile, input: readPnetTile(await level.source, tiles[j].tile, spare) };
    };
    await Promise.all(Array.from({ length: lanes }, async () => {
      // Each lane reads its next tile while the current one runs: a tile that runs on a worker
      // thread then finds the next one ready instead of waiting for this thread to read it.
      let spare: Float32Array | undefined;
      for (let job = await take(); job; ) {
        const { level, tile, input } = job;
        const fs = f(level.scale);
        const mw = pnetCells(level.w);
        const running = runPnetTile(this.nets.pnet, this.backend, input, tile, (maps, at) => {
          const tp = now();
          scanTile(maps, at, threshold, fs, image, mw, level.cells, level.hits, level.probMap);
          report.ms.post += now() - tp;
        });
        const following = await take(spare);
        await running;
        if (input !== (await level.source)) spare = input.data;
        job = following;
      }
    }));
    // Tiles read from the 8-bit image count as pyramid time, their scans as post, not P-Net
    // time; with tiles running at once these overlap the P-Net passes, so the stage times can
    // add up to more than the wall time.
    report.ms.pnet += Math.max(0, now() - t - (report.ms.pyramid + report.ms.post - before));
    const tp = now();
    const kept: Candidate[] = [];
    for (const { scale, h, w, cells, hits, probMap } of levels) {
      // Tiles give cells out of row-major order; the reference's order decides NMS ties.
      const found = cells.map((_, k) => k).sort((p, q) => cells[p] - cells[q]).map((k) => hits[k]);
      report.counts.pnetCandidates += found.length;
      if (report.stages) {
        report.stages.pnet.push(...found.map((b) => ({ x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2, score: b.score })));
        report.stages.probMaps.push({ scale, height: pnetCells(h), width: pnetCells(w), data: probMap! });
      }
      for (const i of nmsUnion(found, 0.5)) kept.push(found[i]);
    }
    report.counts.afterScaleNms = kept.length;
    const picked = nmsUnion(kept, 0.7).map((k) => kept[k]);
    report.counts.afterPyramidNms = picked.length;
    for (const b of picked) {
      regress(b, b.reg, false);
      square(b);
    }
    report.ms.post += now() - tp;
    return picked;
  }

  /**
   * One pyramid level for P-Net. On the CPU it is read a tile at a time from the 8-bit image
   * (the same arithmetic as resizeArea, see areaResizeWindowNormalized), so the first level's
   * float32 copy, 4.3 bytes per photo pixel, is never made whole; other backends resize on
   * their device, as the crops do.
   */
  private async pyramidLevel(img: RgbImage, h: number, w: number, report: DetectionReport): Promise<Tensor | LevelSource> {
    if (!this.backend.capabilities.hostTensors) {
      const t = now();
      const level = await this.backend.resizeArea(img, [{ x: 0, y: 0, width: img.width, height: img.height }], h, w);
      report.ms.pyramid += now() - t;
      return level;
    }
    const level = imageLevel(img, h, w);
    return {
      height: h,
      width: w,
      read: (window, into) => {
        const t = now();
        const tile = level.read(window, into);
        report.ms.pyramid += now() - t;
        return tile;
      },
    };
  }

  /**
   * The net's heads over every crop, in batches of at most REFINE_BATCH crops: a photo can give
   * thousands of candidates, and one batch of them all would hold every crop's activations at
   * once (R-Net's first layer alone is 54 KB a crop). The batches are of even size (92 crops as
   * 46 + 46, not 64 + 28), so that each is long enough to split between threads. Items of a
   * batch never mix, so the heads are the same bits whatever the batch size.
   */
  private async refineBatches(images: RgbImage[], valid: Candidate[], regions: Region[], size: 24 | 48, net: 'rnet' | 'onet'): Promise<Record<string, { data: Float32Array }>> {
    const heads: Record<string, { data: Float32Array }> = {};
    const batches = Math.ceil(valid.length / REFINE_BATCH);
    for (let b = 0; b < batches; b++) {
      const k0 = Math.round((b * valid.length) / batches);
      const k1 = Math.round(((b + 1) * valid.length) / batches);
      // One resize call per image (a batch of its crops), stacked in candidate order.
      const parts: Tensor[] = [];
      for (let i = 0; i < images.length; i++) {
        const mine = regions.slice(k0, k1).filter((_, k) => valid[k0 + k].image === i);
        if (mine.length) parts.push(await this.backend.resizeArea(images[i], mine, size, size));
      }
      const input = parts.length === 1 ? parts[0] : stackBatch(parts);
      const out = await this.nets[net].forward(this.backend, input);
      this.backend.release?.(input);
      for (const [name, t] of Object.entries(out)) {
        const per = t.size / (k1 - k0);
        heads[name] ??= { data: new Float32Array(per * valid.length) };
        heads[name].data.set(t.data, per * k0);
        this.backend.release?.(t);
      }
    }
    return heads;
  }

  /** R-Net (size 24) or O-Net (size 48) over the crops of all candidates of all images. */
  private async refine(images: RgbImage[], boxes: Candidate[], size: 24 | 48, threshold: number, reports: DetectionReport[], net: 'rnet' | 'onet'): Promise<Candidate[]> {
    const valid: Candidate[] = [];
    const regions: Region[] = [];
    for (const b of boxes) {
      const region = cropRegion(b, images[b.image].width, images[b.image].height);
      if (!region) continue;
      valid.push(b);
      regions.push(region);
    }
    for (const b of valid) reports[b.image].counts[net === 'rnet' ? 'rnetInput' : 'onetInput']++;
    if (valid.length === 0) return [];
    const out = await this.refineBatches(images, valid, regions, size, net);
    const passed: Candidate[] = [];
    valid.forEach((b, k) => {
      const score = out.prob.data[2 * k + 1];
      if (!(score > threshold)) return;
      const c: Candidate = { x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2, score, image: b.image, reg: [out.box.data[4 * k], out.box.data[4 * k + 1], out.box.data[4 * k + 2], out.box.data[4 * k + 3]] };
      if (net === 'onet') {
        const w = f(f(c.x2 - c.x1) + 1);
        const h = f(f(c.y2 - c.y1) + 1);
        const p = out.landmarks.data.subarray(10 * k, 10 * k + 10);
        c.landmarks = [0, 1, 2, 3, 4].map((j) => [f(f(f(w * p[j]) + c.x1) - 1), f(f(f(h * p[5 + j]) + c.y1) - 1)]);
      }
      passed.push(c);
    });
    const result: Candidate[] = [];
    for (let i = 0; i < images.length; i++) {
      const mine = passed.filter((c) => c.image === i);
      reports[i].counts[net === 'rnet' ? 'rnetPassed' : 'onetPassed'] = mine.length;
      if (net === 'rnet') {
        const kept = nmsUnion(mine, 0.7).map((k) => mine[k]);
        reports[i].counts.afterRnetNms = kept.length;
        for (const c of kept) {
          regress(c, c.reg, true);
          square(c);
          result.push(c);
        }
      } else {
        for (const c of mine) regress(c, c.reg, true);
        for (const k of nmsMin(mine, 0.7)) result.push(mine[k]);
      }
    }
    return result;
  }

  /**
   * R-Net and O-Net on the given squares of a decoded image, as if P-Net had proposed them: how
   * track() follows faces between full detections. Same thresholds, NMS and selection as detect().
   */
  async refineSquares(image: RgbImage, squares: readonly Square[], options: DetectOptions = {}): Promise<Detection> {
    const opts = checkOptions(options);
    const [, t2, t3] = opts.thresholds.map((t) => f(t));
    const report: DetectionReport = {
      scales: [],
      counts: { pnetCandidates: 0, afterScaleNms: 0, afterPyramidNms: squares.length, rnetInput: 0, rnetPassed: 0, afterRnetNms: 0, onetInput: 0, onetPassed: 0, faces: 0 },
      ms: { decode: 0, pyramid: 0, pnet: 0, rnet: 0, onet: 0, post: 0 },
    };
    let boxes: Candidate[] = squares.map((q) => ({ x1: f(q.x1), y1: f(q.y1), x2: f(q.x2), y2: f(q.y2), score: 1, reg: [0, 0, 0, 0], image: 0 }));
    let t = now();
    boxes = await this.refine([image], boxes, 24, t2, [report], 'rnet');
    report.ms.rnet = now() - t;
    checkSignal(options.signal);
    t = now();
    boxes = await this.refine([image], boxes, 48, t3, [report], 'onet');
    report.ms.onet = now() - t;
    const faces = select(boxes, options, image.width, image.height);
    report.counts.faces = faces.length;
    return { width: image.width, height: image.height, faces, report };
  }

  /**
   * Faces in video, frame after frame, each with a track id that stays while the face stays in
   * view: `for await (const frame of detector.track(video)) frame.faces`. `source` is a <video>
   * element or a MediaStream (each frame the newest when the tracker is ready, the ones between
   * counted in frame.dropped) or an iterable of anything detect() takes (every item, in order).
   * Between full detections, R-Net and O-Net follow the faces around where they were (see
   * TrackOptions for when the full cascade runs).
   */
  track(source: TrackSource, options: TrackOptions & DetectOptions = {}): AsyncIterable<TrackFrame> {
    return trackFaces(this, source, options);
  }

  async dispose(): Promise<void> {
    if (this.ownsBackend) await this.backend.dispose();
  }
}

/**
 * P-Net's candidates in one tile's maps (cells at or over `threshold` that no earlier tile gave),
 * with their level cell indices; `probMap`, when kept, gets the tile's face probabilities.
 */
function scanTile(maps: { prob: Tensor; box: Tensor }, at: TileCells, threshold: number, fs: number, image: number, mw: number, cells: number[], found: Candidate[], probMap: Float32Array | null): void {
  const { prob, box } = maps;
  const [, , th, tw] = prob.shape;
  const plane = th * tw;
  for (let by = at.y0; by < at.y1; by++) {
    for (let bx = at.x0; bx < at.x1; bx++) {
      const cell = (by - at.y) * tw + (bx - at.x);
      const score = prob.data[plane + cell];
      if (probMap) probMap[by * mw + bx] = score;
      if (!(score >= threshold)) continue;
      cells.push(by * mw + bx);
      found.push({
        x1: Math.floor(f(f(2 * bx + 1) / fs)),
        y1: Math.floor(f(f(2 * by + 1) / fs)),
        x2: Math.floor(f(f(2 * bx + 12) / fs)),
        y2: Math.floor(f(f(2 * by + 12) / fs)),
        score,
        reg: [box.data[cell], box.data[plane + cell], box.data[2 * plane + cell], box.data[3 * plane + cell]],
        image,
      });
    }
  }
}

/** Largest first (as the reference), then the selection and limit asked for. */
function select(boxes: Candidate[], options: DetectOptions, width: number, height: number): Face[] {
  const areas = boxes.map(boxArea);
  const order = boxes.map((_, i) => i).sort((a, b) => areas[b] - areas[a] || b - a);
  let faces = order.map((i): Face => {
    const b = boxes[i];
    return { box: [b.x1, b.y1, b.x2, b.y2], score: b.score, landmarks: b.landmarks ?? [] };
  });
  if (options.selection === 'confident') faces = [...faces].sort((a, b) => b.score - a.score);
  if (options.selection === 'largest') faces = faces.slice(0, 1);
  if (options.selection === 'center' && faces.length > 1) {
    const off = (f: Face) => Math.hypot((f.box[0] + f.box[2]) / 2 - width / 2, (f.box[1] + f.box[3]) / 2 - height / 2);
    // Stable: of two faces equally near the centre, the larger (earlier) one.
    faces = [faces.reduce((best, f) => (off(f) < off(best) ? f : best))];
  }
  if (options.maxFaces !== undefined) faces = faces.slice(0, options.maxFaces);
  return faces;
}

let shared: FaceDetector | null = null;

/** Detects faces in one image with a shared detector (bundled weights, CPU backend). */
export async function detectFaces(image: ImageInput, options: DetectOptions = {}): Promise<Face[]> {
  shared ??= new FaceDetector();
  return (await shared.detect(image, options)).faces;
}

/** Many images of any sizes, R-Net/O-Net crops batched across them. */
export async function detectFacesBatch(images: readonly ImageInput[], options: DetectOptions = {}): Promise<Face[][]> {
  shared ??= new FaceDetector();
  return (await shared.detectBatch(images, options)).map((d) => d.faces);
}

