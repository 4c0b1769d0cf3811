// detector.track() in Node on an iterable of frames made here from a shared photo: a 620x490
// window of multiface.jpg that moves 3 pixels right and 1 down a frame (a slow pan), with one
// face painted over for two frames and then back. Checked: every item comes out, in order; a
// face that stays keeps its id; the covered face ends its track and comes back under a new id;
// a followed frame finds the faces a full detect() of the same frame finds, boxes within 0.9
// IoU, none missing; and it runs less of the nets than the full detection (net input values
// counted through the nets' forward calls, not timed).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ArgumentError } from '../src/errors.ts';
import { toRgbImage } from '../src/image/decode.ts';
import type { RgbImage } from '../src/image/rgbImage.ts';
import { FaceEmbedder } from '../src/pipeline/embed.ts';
import { boxIoU } from '../src/pipeline/faceTracks.ts';
import { FaceDetector } from '../src/pipeline/mtcnn.ts';
import type { TrackFrame } from '../src/pipeline/track.ts';
import { sharedPath, sharedSkip } from './helpers/shared.ts';

const skip = sharedSkip('images/multiface.jpg');
const FRAMES = 12;
const COVERED = [5, 6];
const W = 620, H = 490;
const origin = (i: number) => ({ x: 190 + 3 * i, y: 110 + i });

let detector: FaceDetector;
let photo: RgbImage;
let frames: RgbImage[];
/** The covered face's box in the photo (the one nearest the window's left edge), found by a full detection of frame 0. */
let covered: [number, number, number, number];

function crop(img: RgbImage, x0: number, y0: number, w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(((y + y0) * img.width + x0) * 3, ((y + y0) * img.width + x0 + w) * 3), y * w * 3);
  return { width: w, height: h, data };
}

function paint(img: RgbImage, box: readonly number[]): RgbImage {
  const data = img.data.slice();
  for (let y = Math.max(0, Math.floor(box[1])); y < Math.min(img.height, Math.ceil(box[3])); y++) {
    for (let x = Math.max(0, Math.floor(box[0])); x < Math.min(img.width, Math.ceil(box[2])); x++) data.fill(128, (y * img.width + x) * 3, (y * img.width + x) * 3 + 3);
  }
  return { ...img, data };
}

/** A box of frame i in the photo's coordinates. */
const inPhoto = (box: readonly number[], i: number) => {
  const o = origin(i);
  return [box[0] + o.x, box[1] + o.y, box[2] + o.x, box[3] + o.y] as const;
};

/** Counts what the detector's nets are given: calls and input values per net. */
function countPasses(d: FaceDetector) {
  const counts = { calls: 0, values: 0, rnetCrops: 0 };
  for (const name of ['pnet', 'rnet', 'onet'] as const) {
    const net = d.nets[name];
    const forward = net.forward.bind(net);
    net.forward = (backend, x, trace) => {
      counts.calls++;
      counts.values += x.size;
      if (name === 'rnet') counts.rnetCrops += x.shape[0];
      return forward(backend, x, trace);
    };
  }
  return {
    take: () => {
      const c = { ...counts };
      counts.calls = counts.values = counts.rnetCrops = 0;
      return c;
    },
  };
}

before(async () => {
  if (skip) return;
  detector = new FaceDetector();
  photo = toRgbImage(sharedPath('images/multiface.jpg'));
  const first = crop(photo, origin(0).x, origin(0).y, W, H);
  const faces = (await detector.detect(first)).faces.filter((f) => f.box[0] > 0 && f.box[1] > 0 && f.box[2] < W && f.box[3] < H);
  assert.ok(faces.length >= 3, `the window shows ${faces.length} whole faces`);
  const left = faces.reduce((a, b) => (b.box[0] < a.box[0] ? b : a));
  const m = 0.2 * (left.box[2] - left.box[0]);
  covered = [...inPhoto([left.box[0] - m, left.box[1] - m, left.box[2] + m, left.box[3] + m], 0)] as [number, number, number, number];
  frames = Array.from({ length: FRAMES }, (_, i) => {
    const o = origin(i);
    const frame = crop(photo, o.x, o.y, W, H);
    return COVERED.includes(i) ? paint(frame, [covered[0] - o.x, covered[1] - o.y, covered[2] - o.x, covered[3] - o.y]) : frame;
  });
});

after(async () => {
  await detector?.dispose();
});

test('track() on an iterable: ids stay with faces, a covered face ends its track and returns under a new id, followed frames match detect() with less work', { skip }, async () => {
  const passes = countPasses(detector);
  const got: TrackFrame[] = [];
  const work: { frame: number; followed: ReturnType<typeof passes.take>; full: ReturnType<typeof passes.take> }[] = [];
  const detectEvery = 4;
  for await (const frame of detector.track(frames, { detectEvery })) {
    const used = passes.take();
    got.push(frame);
    const full = await detector.detect(frames[frame.index]);
    const fullUsed = passes.take();
    // Every face of the full detection is there, within 0.9 IoU, and no other.
    assert.equal(frame.faces.length, full.faces.length, `frame ${frame.index} (${frame.detected ?? 'followed'}): ${frame.faces.length} faces, detect() ${full.faces.length}`);
    for (const g of full.faces) {
      const best = Math.max(...frame.faces.map((f) => boxIoU(f.box, g.box)));
      assert.ok(best >= 0.9, `frame ${frame.index}: detect()'s face at ${g.box.map(Math.round)} best IoU ${best.toFixed(3)}`);
    }
    if (!frame.detected) work.push({ frame: frame.index, followed: used, full: fullUsed });
  }
  assert.deepEqual(got.map((f) => f.index), frames.map((_, i) => i), 'every item, in order');
  assert.ok(got.every((f) => f.dropped === 0 && f.width === W && f.height === H));
  assert.equal(got[0].detected, 'first');

  // The faces that stay in view: one id each through all frames.
  const isCovered = (box: readonly number[], i: number) => boxIoU(inPhoto(box, i), covered) > 0.3;
  const stayers = got[0].faces.filter((f) => !isCovered(f.box, 0));
  assert.ok(stayers.length >= 2);
  for (const s of stayers) {
    for (const frame of got) {
      const same = frame.faces.find((f) => boxIoU(inPhoto(f.box, frame.index), inPhoto(s.box, 0)) > 0.5);
      assert.ok(same, `frame ${frame.index}: the face at ${s.box.map(Math.round)} is missing`);
      assert.equal(same.id, s.id, `frame ${frame.index}: the face at ${s.box.map(Math.round)} changed id`);
    }
  }

  // The covered face: its track ends in the first covered frame and no face is there while covered.
  const before = got[0].faces.find((f) => isCovered(f.box, 0));
  assert.ok(before, 'the face to cover was found in frame 0');
  assert.ok(got[COVERED[0]].ended.includes(before.id), `frame ${COVERED[0]} ended ${got[COVERED[0]].ended}`);
  for (const i of COVERED) assert.ok(!got[i].faces.some((f) => isCovered(f.box, i)), `frame ${i}: a face under the paint`);
  // Uncovered, it is found again by the next full detection at the latest, as a new track.
  const back = got.slice(COVERED.at(-1)! + 1).find((f) => f.faces.some((g) => isCovered(g.box, f.index)));
  assert.ok(back && back.index <= COVERED.at(-1)! + detectEvery, 'the uncovered face was not found again');
  const returned = back.faces.find((g) => isCovered(g.box, back.index))!;
  assert.ok(returned.id > Math.max(...got[0].faces.map((f) => f.id)), `the returning face got id ${returned.id}, an old one`);
  assert.ok(back.started.includes(returned.id));

  // Followed frames did happen, and each ran less of the nets than a full detection of it.
  assert.ok(work.length >= 4, `${work.length} followed frames`);
  for (const w of work) {
    assert.ok(w.followed.values < w.full.values, `frame ${w.frame}: followed ${w.followed.values} net input values, full ${w.full.values}`);
    assert.ok(w.followed.rnetCrops < w.full.rnetCrops, `frame ${w.frame}: followed ${w.followed.rnetCrops} R-Net crops, full ${w.full.rnetCrops}`);
  }
  const ratio = work.reduce((a, w) => a + w.followed.values / w.full.values, 0) / work.length;
  console.log(`  followed frames: ${work.length}, net input values ${(100 * ratio).toFixed(0)}% of a full detection's on average`);
});

test('track() takes async iterables, and closes the source when left early', { skip }, async () => {
  let closed = false;
  async function* source() {
    try {
      for (const f of frames.slice(0, 3)) yield f;
    } finally {
      closed = true;
    }
  }
  const indices: number[] = [];
  for await (const frame of detector.track(source())) {
    indices.push(frame.index);
    if (frame.index === 1) break;
  }
  assert.deepEqual(indices, [0, 1]);
  assert.ok(closed, 'the source iterator was returned');
});

test('track() refuses bad options and sources with ArgumentError, before reading anything', { skip }, () => {
  assert.throws(() => detector.track(frames, { detectEvery: 0 }), ArgumentError);
  assert.throws(() => detector.track(frames, { followMargin: -1 }), ArgumentError);
  assert.throws(() => detector.track(frames, { followScales: [2, 1] }), ArgumentError);
  assert.throws(() => detector.track(frames, { follow: 'nearby' as 'pyramid' }), ArgumentError);
  assert.throws(() => detector.track(frames, { minIoU: 0 }), ArgumentError);
  assert.throws(() => detector.track(frames, { keepLost: 1.5 }), ArgumentError);
  assert.throws(() => detector.track('frames.mp4' as never), ArgumentError);
  assert.throws(() => detector.track(new Uint8Array(10) as never), ArgumentError);
});

test('track() with an embedder: each track has an embedding from its first frame, refreshed every embedEvery frames', { skip }, async () => {
  const embedder = new FaceEmbedder({ detector });
  let calls = 0;
  const embedCrops = embedder.embedCrops.bind(embedder);
  embedder.embedCrops = (crops) => {
    calls += crops.length;
    return embedCrops(crops);
  };
  const seen: TrackFrame[] = [];
  for await (const frame of detector.track(frames.slice(0, 4), { embedder, embedEvery: 3 })) seen.push(frame);
  const faces = seen[0].faces.length;
  assert.ok(faces >= 3);
  for (const frame of seen) for (const f of frame.faces) assert.ok(f.embedding instanceof Float32Array && f.embedding.length >= 128, `frame ${frame.index} face ${f.id}`);
  // Frames 1 and 2 reuse frame 0's embeddings; frame 3 refreshes them.
  for (const f of seen[1].faces) assert.equal(f.embedding, seen[0].faces.find((g) => g.id === f.id)!.embedding);
  for (const f of seen[3].faces) assert.notEqual(f.embedding, seen[0].faces.find((g) => g.id === f.id)?.embedding);
  assert.equal(calls, 2 * faces);
});

test('detectIn() at every level around each face gives detect()\'s boxes bit for bit: the windows\' P-Net cells are the whole frame\'s', { skip }, async () => {
  for (const i of [0, 3]) {
    const full = await detector.detect(frames[i]);
    const windows = full.faces.map((f) => {
      const m = 0.25 * (f.box[2] - f.box[0]);
      return { x: f.box[0] - m, y: f.box[1] - m, width: f.box[2] - f.box[0] + 2 * m, height: f.box[3] - f.box[1] + 2 * m };
    });
    const near = await detector.detectIn(frames[i], windows);
    assert.deepEqual(near.faces.map((f) => f.box), full.faces.map((f) => f.box), `frame ${i}`);
    assert.deepEqual(near.faces.map((f) => f.landmarks), full.faces.map((f) => f.landmarks), `frame ${i}`);
    assert.ok(near.report.counts.rnetInput < full.report.counts.rnetInput);
  }
});
