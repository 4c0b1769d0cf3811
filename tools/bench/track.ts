// Tracking cost: detector.track() on an iterable handed over as fast as the tracker takes it
// (a 640x480 window panning 3 px right and 1 down a frame over a photo from ../shared/images:
// multiface.jpg, four faces in view; and paul_rudd.jpg at 320 pixels wide on grey, moving the
// same way, one face about 200 pixels wide as a webcam shows it), then a full detect() of every followed frame, in the same process on the
// same backend. Prints the median followed frame against the median detect() of the same frames
// (the goal: at most a third), and the median full-cascade frame of the tracker, per follow mode.
//   npm run bench:track [-- --frames 40] [--threads N]
import { FaceDetector } from '../../src/pipeline/mtcnn.ts';
import { toRgbImage } from '../../src/image/decode.ts';
import type { RgbImage } from '../../src/image/rgbImage.ts';
import { resizeBicubic } from '../../src/image/resize.ts';
import { CpuBackend } from '../../src/tensor/cpu/backend.ts';
import { sharedPath, sharedSkip } from '../../test/helpers/shared.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const FRAMES = arg('frames', 40);
/** Frames each follow mode tracks once, untimed, before the timed runs. */
const WARMUP_FRAMES = 20;
const threads = process.argv.includes('--threads') ? arg('threads', 1) : undefined;

if (sharedSkip('images/multiface.jpg') || sharedSkip('images/celebs/paul_rudd.jpg')) process.exit(0);
const W = 640, H = 480;
const portrait = toRgbImage(sharedPath('images/celebs/paul_rudd.jpg'));
const small = resizeBicubic(portrait, 320, Math.round((portrait.height * 320) / portrait.width));
const multiface = toRgbImage(sharedPath('images/multiface.jpg'));
const scenes: [string, (i: number) => RgbImage][] = [
  ['multiface', (i) => frameAt(multiface, i)],
  ['one face', (i) => pasted(small, i)],
];

/** `photo` on a grey 640x480 frame, its corner at (60 + 3i, 20 + i). */
function pasted(photo: RgbImage, i: number): RgbImage {
  const data = new Uint8Array(W * H * 3).fill(128);
  const x0 = 60 + 3 * i, y0 = 20 + i;
  for (let y = 0; y < photo.height && y + y0 < H; y++) {
    const w = Math.min(photo.width, W - x0);
    data.set(photo.data.subarray(y * photo.width * 3, (y * photo.width + w) * 3), ((y + y0) * W + x0) * 3);
  }
  return { width: W, height: H, data };
}

function frameAt(photo: RgbImage, i: number): RgbImage {
  const x0 = (40 + 3 * i) % (photo.width - W), y0 = (20 + i) % (photo.height - H);
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) data.set(photo.data.subarray(((y + y0) * photo.width + x0) * 3, ((y + y0) * photo.width + x0 + W) * 3), y * W * 3);
  return { width: W, height: H, data };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

const backend = new CpuBackend(threads === undefined ? {} : { threads });
const detector = new FaceDetector({ backend });
console.log(`tsface tracking bench: ${FRAMES} frames of ${W}x${H} per scene, ${backend.describe().mode}, ${backend.concurrentPasses?.() ?? 1} lane(s)`);
console.log('scene     | follow   | frames followed/full | median followed ms | median detect() of the same frames ms | followed / detect() | median full-cascade frame ms | faces/frame');
for (const [scene, make] of scenes) {
  const frames = Array.from({ length: FRAMES }, (_, i) => make(i));
  // Warm-up: compile the WebAssembly kernels, start the threads, and let V8 optimise the
  // followed frames' code (P-Net on windows, the squares) before anything is timed. Without it
  // the first follow mode's first followed frames ran at 1.5-2x the later ones' time.
  await detector.detect(frames[0]);
  await detector.detect(frames[1]);
  for (const follow of ['pyramid', 'squares'] as const) for await (const _ of detector.track(frames.slice(0, WARMUP_FRAMES), { follow })) void _;
  for (const follow of ['pyramid', 'squares'] as const) {
    const followed: { index: number; ms: number }[] = [];
    const full: number[] = [];
    let faces = 0;
    for await (const frame of detector.track(frames, { follow })) {
      faces += frame.faces.length;
      if (frame.detected) full.push(frame.ms);
      else followed.push({ index: frame.index, ms: frame.ms });
    }
    // detect() of the followed frames afterwards, interleaved with nothing, the frames decoded as the tracker took them.
    const detectMs: number[] = [];
    for (const { index } of followed) {
      const t = performance.now();
      await detector.detect(frames[index]);
      detectMs.push(performance.now() - t);
    }
    const f = median(followed.map((x) => x.ms));
    const d = median(detectMs);
    const goal = f / d <= 1 / 3 ? 'meets <= 1/3' : 'over 1/3';
    console.log(`${scene.padEnd(9)} | ${follow.padEnd(8)} | ${followed.length}/${full.length} | ${f.toFixed(1)} | ${d.toFixed(1)} | ${(f / d).toFixed(3)} (${goal}) | ${median(full).toFixed(1)} | ${(faces / FRAMES).toFixed(1)}`);
  }
}
await detector.dispose();
