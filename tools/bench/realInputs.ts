// The net cases' inputs, taken from real photos by tsface's own pipeline, so that every engine
// runs the same values a detection or an embedding would give it: some kernels' speed depends on
// the values (onnxruntime's PReLU is several times faster on smooth input than on noise), so
// noise or a sine would time another workload than the one users run.
//   P-Net: the centre 4:3 part of multiface.jpg area-resized to the case's size and normalised,
//          as the pyramid makes a level (backend.resizeArea, the code path of the detector's
//          levels off the CPU and of its crops).
//   R-Net, O-Net: the 24x24 and 48x48 crops the cascade makes (the detector's candidates after
//          P-Net and after R-Net, keepStages, cut with the pipeline's cropRegion and resizeArea).
//   nn4.small2, MobileFaceNet: faces found by the detector and aligned on their landmarks
//          (alignFace) to the model's size and normalised as the embedder does.
// Photos from ../shared (multiface.jpg, LFW) where present, else examples/astronaut.jpg alone,
// said loudly; a case with more items than the photos give repeats them in order.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { toRgbImage, type RgbImage } from '../../src/image/decode.ts';
import { alignFace } from '../../src/pipeline/align.ts';
import { cropRegion } from '../../src/pipeline/boxes.ts';
import { MOBILEFACENET, NN4_SMALL2_V1, type EmbeddingModelSpec } from '../../src/pipeline/embed.ts';
import { FaceDetector, type Detection } from '../../src/pipeline/mtcnn.ts';
import type { Box } from '../../src/pipeline/nms.ts';
import { CpuBackend } from '../../src/tensor/cpu/backend.ts';
import { stackBatch, Tensor } from '../../src/tensor/tensor.ts';

const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../examples/astronaut.jpg', import.meta.url));
const MULTIFACE = `${SHARED}images/multiface.jpg`;
const LFW = `${SHARED}datasets/lfw-devtrain/images/`;

/** Where a case's input came from, for the bench's log. */
export interface RealInput {
  x: Tensor;
  source: string;
}

let detector: FaceDetector | null = null;
const detections = new Map<string, { image: RgbImage; detection: Detection }>();

/** One photo decoded and run through the detector once (its stages kept), memoised. */
async function detected(path: string): Promise<{ image: RgbImage; detection: Detection }> {
  let d = detections.get(path);
  if (!d) {
    detector ??= new FaceDetector({ backend: new CpuBackend({ threads: 1 }) });
    const image = toRgbImage(readFileSync(path));
    d = { image, detection: await detector.detect(image, { keepStages: true }) };
    detections.set(path, d);
  }
  return d;
}

function warnOnce(what: string): void {
  if (warned.has(what)) return;
  warned.add(what);
  console.warn(`!!! ${what} !!!`);
}
const warned = new Set<string>();

/** The photos the cascade crops come from, the one with most faces first. */
function cascadePhotos(): string[] {
  if (existsSync(MULTIFACE)) return [MULTIFACE, EXAMPLE, ...lfwPhotos(8)];
  warnOnce('../shared/images/multiface.jpg is absent: the MTCNN net cases read examples/astronaut.jpg alone');
  return [EXAMPLE];
}

/** The first photo of each of the first `people` people of the LFW dev-train folder, if present. */
function lfwPhotos(people: number): string[] {
  if (!existsSync(LFW)) return [];
  const out: string[] = [];
  for (const person of readdirSync(LFW).sort()) {
    const first = readdirSync(`${LFW}${person}`).filter((f) => f.endsWith('.jpg')).sort()[0];
    if (first) out.push(`${LFW}${person}/${first}`);
    if (out.length === people) break;
  }
  return out;
}

/** `n` items of `parts` (each [k, ...item]) in order, repeated from the start when they run out. */
function take(parts: Tensor[], n: number): Tensor {
  const all = parts.length === 1 ? parts[0] : stackBatch(parts);
  const per = all.size / all.shape[0];
  if (all.shape[0] === n) return all;
  const x = new Tensor([n, ...all.shape.slice(1)]);
  for (let i = 0; i < n; i++) x.data.set(all.data.subarray((i % all.shape[0]) * per, (i % all.shape[0] + 1) * per), i * per);
  return x;
}

/** P-Net's input: a photo's centre 4:3 (h:w as asked) part as a pyramid level of h x w. */
export async function pnetLevel(h: number, w: number): Promise<RealInput> {
  const path = existsSync(MULTIFACE) ? MULTIFACE : EXAMPLE;
  if (path === EXAMPLE) warnOnce('../shared/images/multiface.jpg is absent: P-Net reads examples/astronaut.jpg');
  const image = toRgbImage(readFileSync(path));
  // The largest centred region of the level's aspect, so the level is the photo undistorted.
  const rw = Math.min(image.width, Math.floor((image.height * w) / h));
  const rh = Math.min(image.height, Math.floor((rw * h) / w));
  const region = { x: Math.floor((image.width - rw) / 2), y: Math.floor((image.height - rh) / 2), width: rw, height: rh };
  const backend = new CpuBackend({ threads: 1 });
  const x = await backend.resizeArea(image, [region], h, w);
  await backend.dispose();
  return { x, source: `${path.split('/').pop()} centre ${rw}x${rh} as a ${w}x${h} level` };
}

/** `n` crops of `size` (24: R-Net's, 48: O-Net's) as the cascade makes them from the photos. */
export async function cascadeCrops(size: 24 | 48, n: number): Promise<RealInput> {
  const parts: Tensor[] = [];
  const used: string[] = [];
  let count = 0;
  const backend = new CpuBackend({ threads: 1 });
  for (const path of cascadePhotos()) {
    if (count >= n) break;
    const { image, detection } = await detected(path);
    // R-Net's candidates are P-Net's after NMS, regression and squaring; O-Net's are R-Net's.
    const boxes: Box[] = size === 24 ? detection.report.stages!.pnetNms : detection.report.stages!.rnet;
    const regions = boxes.map((b) => cropRegion(b, image.width, image.height)).filter((r) => r !== null).slice(0, n - count);
    if (!regions.length) continue;
    parts.push(await backend.resizeArea(image, regions, size, size));
    used.push(`${path.split('/').pop()} (${regions.length})`);
    count += regions.length;
  }
  await backend.dispose();
  if (count < n) warnOnce(`only ${count} real ${size}x${size} crops: the ${n}-crop case repeats them`);
  return { x: take(parts, n), source: `${size}x${size} cascade crops of ${used.join(', ')}` };
}

/** `n` aligned faces for `spec` (nn4.small2 or MobileFaceNet), normalised as the embedder does. */
export async function alignedFaces(spec: EmbeddingModelSpec, n: number): Promise<RealInput> {
  const photos = [...(existsSync(MULTIFACE) ? [MULTIFACE] : []), EXAMPLE, ...lfwPhotos(n)];
  if (photos.length === 1) warnOnce('../shared is absent: the embedding cases read the face of examples/astronaut.jpg alone');
  const s = spec.size;
  const plane = s * s;
  const faces: Tensor[] = [];
  const used: string[] = [];
  for (const path of photos) {
    if (faces.length >= n) break;
    const { image, detection } = await detected(path);
    let k = 0;
    for (const face of detection.faces) {
      if (faces.length >= n) break;
      const { crop } = alignFace(image, face.landmarks, { size: s, template: spec.template });
      // Planar and normalised, FaceEmbedder.embedCrops' layout.
      const x = new Tensor([1, 3, s, s]);
      for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) x.data[c * plane + p] = spec.normalize(crop.data[p * 3 + c]);
      faces.push(x);
      k++;
    }
    if (k) used.push(path.split('/').pop()!);
  }
  if (faces.length < n) warnOnce(`only ${faces.length} real faces: the ${n}-face ${spec.name} case repeats them`);
  const shown = used.length > 4 ? `${used.slice(0, 3).join(', ')} and ${used.length - 3} more` : used.join(', ');
  return { x: take(faces, n), source: `${n} aligned ${s}x${s} faces of ${shown}` };
}

export const EMBEDDING_SPECS = { nn4small2: NN4_SMALL2_V1, mobilefacenet: MOBILEFACENET };

/** The detector these inputs were made with holds a thread pool: closed when the bench ends. */
export async function disposeRealInputs(): Promise<void> {
  await detector?.backend.dispose();
  detector = null;
}
