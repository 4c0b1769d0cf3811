// Page side of the anchor rows: @vladmandic/face-api and @vladmandic/human, the JavaScript face
// libraries a page would use instead, each in a page of its own (each carries its own tf.js,
// whose engine is one per page) on one of its tf.js backends, running what tsface's FaceEmbedder
// runs: detection, landmarks and an embedding per face. Their bundles, models and tf.js's .wasm
// files come from node_modules through the bench's own server: nothing leaves the machine.
import { canvasOf, type Box, type FacesTiming } from './frames.ts';
import { middle } from '../timing.ts';

export type AnchorLib = 'face-api' | 'human';
export type AnchorBackend = 'webgl' | 'webgpu' | 'wasm';

/** Variables, so the page bundler leaves these imports to the page (the packages' own dist bundles). */
const FACE_API = '/node_modules/@vladmandic/face-api/dist/face-api.esm.js';
const FACE_API_MODELS = '/node_modules/@vladmandic/face-api/model';
const HUMAN = '/node_modules/@vladmandic/human/dist/human.esm.js';
const HUMAN_MODELS = '/node_modules/@vladmandic/human/models/';
/** tf.js 4.22's .wasm files, the version both anchors bundle (their tfjs.version.js says so). */
const TFJS_WASM = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';

export interface AnchorStarted {
  lib: AnchorLib;
  backend: AnchorBackend;
  /** The tf.js backend really in use, and for wasm its SIMD/threads flavour. */
  mode: string;
  threads: number;
  version: string;
}

interface Tf {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  env(): { getAsync(flag: string): Promise<unknown> };
  setWasmPaths?(prefix: string): void;
  version?: Record<string, string>;
}

/** Detection + landmarks + embedding of every face of a canvas, as boxes [x1, y1, x2, y2]. */
type Pipeline = (canvas: HTMLCanvasElement) => Promise<{ boxes: Box[]; embeddings: number }>;

let pipeline: Pipeline | null = null;

async function wasmMode(tf: Tf): Promise<{ mode: string; threads: number }> {
  const threaded = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  // The pool tf.js really made, where the anchor's bundle exports tf.js wasm's getThreadsCount (0: not told).
  const count = (tf as { getThreadsCount?: () => number }).getThreadsCount;
  return { mode: `wasm ${threaded ? 'threaded-' : ''}${simd ? 'simd' : 'scalar'}`, threads: threaded ? (count ? count() : 0) : 1 };
}

interface FaceApiResult {
  detection: { box: { x: number; y: number; width: number; height: number } };
  descriptor?: Float32Array;
}

async function startFaceApi(backend: AnchorBackend): Promise<AnchorStarted> {
  const faceapi = (await import(FACE_API)) as Record<string, any>;
  const tf = faceapi.tf as Tf;
  // face-api's bundle carries tf.js's WebGL, wasm and CPU backends but not WebGPU: tf.js 4.22's
  // WebGPU backend registers itself into the page's one tf.js engine (a global), beside them.
  if (backend === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  if (backend === 'wasm') tf.setWasmPaths!(new URL(TFJS_WASM, location.href).href);
  if (!(await tf.setBackend(backend))) throw new Error(`face-api: tf.js ${backend} backend did not initialise`);
  await tf.ready();
  await Promise.all([faceapi.nets.ssdMobilenetv1, faceapi.nets.faceLandmark68Net, faceapi.nets.faceRecognitionNet].map((n) => n.loadFromUri(FACE_API_MODELS)));
  const options = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5, maxResults: 100 });
  pipeline = async (canvas) => {
    const found = (await faceapi.detectAllFaces(canvas, options).withFaceLandmarks().withFaceDescriptors()) as FaceApiResult[];
    return {
      boxes: found.map(({ detection: { box: b } }) => [b.x, b.y, b.x + b.width, b.y + b.height] as Box),
      embeddings: found.filter((f) => f.descriptor?.length).length,
    };
  };
  const flavour = backend === 'wasm' ? await wasmMode(tf) : { mode: tf.getBackend(), threads: 1 };
  return { lib: 'face-api', backend, ...flavour, version: String(faceapi.version ?? '') };
}

interface HumanFace {
  box: [number, number, number, number];
  mesh?: number[][];
  embedding?: number[];
}

/**
 * Human's own face box is its detector's crop for the mesh model, enlarged well past the face
 * (about twice the width of tsface's and face-api's boxes), so it never overlaps theirs at IoU 0.5:
 * the box compared is the extent of its 468-point mesh, the face itself; its own box without a mesh.
 */
function humanBox(f: HumanFace): Box {
  if (!f.mesh?.length) {
    const [x, y, w, h] = f.box;
    return [x, y, x + w, y + h];
  }
  const xs = f.mesh.map((p) => p[0]);
  const ys = f.mesh.map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

async function startHuman(backend: AnchorBackend): Promise<AnchorStarted> {
  const { Human } = (await import(HUMAN)) as { Human: new (config: object) => any };
  const off = { enabled: false };
  // Every model but the face's detector, mesh (landmarks) and description (embedding) is off, and
  // human's between-frame caches are off, so every call runs the full pipeline on its input.
  const human = new Human({
    backend, modelBasePath: HUMAN_MODELS, wasmPath: TFJS_WASM, wasmPlatformFetch: false, debug: false, async: true,
    cacheSensitivity: 0, filter: off, gesture: off, body: off, hand: off, object: off, segmentation: off,
    face: {
      enabled: true,
      detector: { rotation: false, maxDetected: 100, skipFrames: 0, skipTime: 0, return: false },
      mesh: { enabled: true },
      attention: off, iris: off, emotion: off, antispoof: off, liveness: off, gear: off,
      description: { enabled: true, skipFrames: 0, skipTime: 0 },
    },
  });
  await human.load();
  await human.tf.ready();
  const tf = human.tf as Tf;
  if (tf.getBackend() !== backend) throw new Error(`human: asked for tf.js ${backend}, got ${tf.getBackend()}`);
  pipeline = async (canvas) => {
    const result = (await human.detect(canvas)) as { face: HumanFace[]; error?: string | null };
    if (result.error) throw new Error(`human: ${result.error}`);
    return {
      boxes: result.face.map(humanBox),
      embeddings: result.face.filter((f) => f.embedding?.length).length,
    };
  };
  const flavour = backend === 'wasm' ? await wasmMode(tf) : { mode: tf.getBackend(), threads: 1 };
  return { lib: 'human', backend, ...flavour, version: String(human.version ?? '') };
}

export function startAnchor(lib: AnchorLib, backend: AnchorBackend): Promise<AnchorStarted> {
  return lib === 'face-api' ? startFaceApi(backend) : startHuman(backend);
}


/** The anchor's pipeline on one picture: `warmup` untimed runs, then `runs` timed ones. */
export async function anchorFaces(url: string, frame: boolean, warmup: number, runs: number): Promise<FacesTiming> {
  if (!pipeline) throw new Error('startAnchor first');
  const canvas = await canvasOf(url, frame);
  let last = await pipeline(canvas);
  for (let i = 1; i < warmup; i++) last = await pipeline(canvas);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    last = await pipeline(canvas);
    times.push(performance.now() - t);
  }
  return { ms: runs ? middle(times) : NaN, times, width: canvas.width, height: canvas.height, boxes: last.boxes, embeddings: last.embeddings };
}
