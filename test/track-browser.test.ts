// detector.track() on a camera in headless chromium: its fake capture device plays a .y4m made
// here with ffmpeg from ../shared/images/multiface.jpg (a 480x360 window panning slowly over the
// photo at two thirds of its size and back, 10 frames a second), getUserMedia hands the page a
// MediaStream, and the bundled build tracks it, read through MediaStreamTrackProcessor and
// through an offscreen <video>. Checked: faces are found, each face keeps its id from frame to
// frame, and frames come newest-first (index grows, dropped frames counted). A plain page (no
// COOP/COEP): one thread, as most sites serve. The demo page's camera mode (examples/web/camera.js)
// runs on the same fake camera: ids drawn, frames counted, no page error (TSFACE_BROWSER_FULL=1:
// the page first detects and embeds its example photo, about 20 s more on a loaded machine).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { buildBrowser } from '../tools/build/browser.ts';
import { CHROMIUM, CHROMIUM_FLAGS, chromiumMissing } from '../tools/web/chromium.ts';
import { startServer, type StaticServer } from '../tools/web/server.ts';
import { boxIoU } from '../src/pipeline/faceTracks.ts';
import { sharedPath, sharedSkip } from './helpers/shared.ts';

const FFMPEG = '/usr/bin/ffmpeg';
const FULL = process.env.TSFACE_BROWSER_FULL === '1';
const skip = chromiumMissing() || sharedSkip('images/multiface.jpg') || (existsSync(FFMPEG) ? false : `${FFMPEG} is absent (apt-get install -y ffmpeg)`);
if (skip) console.warn(`\n!!! ${skip}: SKIPPING the camera tracking test !!!\n`);

let dir: string;
let server: StaticServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

interface SeenFrame {
  index: number;
  dropped: number;
  detected: string | null;
  width: number;
  faces: { id: number; box: number[] }[];
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'tsface-camera-'));
  const video = join(dir, 'camera.y4m');
  // multiface.jpg at 800x420, a 480x360 window moving a pixel right every 4 frames and back
  // (15 s at 10 frames a second): a slow pan that a tracker taking a frame a second on one
  // loaded thread still sees move a few pixels a frame, and no jump when the camera loops.
  const made = spawnSync(FFMPEG, ['-v', 'error', '-framerate', '10', '-loop', '1', '-i', sharedPath('images/multiface.jpg'), '-vf', "scale=800:420,crop=480:360:'40+trunc(min(n,150-n)/4)':30", '-r', '10', '-frames:v', '150', '-pix_fmt', 'yuv420p', video]);
  assert.equal(made.status, 0, `ffmpeg: ${made.stderr}`);
  await buildBrowser();
  server = await startServer({ isolated: false });
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, `--user-data-dir=${join(dir, 'profile')}`, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${video}`, '--autoplay-policy=no-user-gesture-required'],
    protocolTimeout: 600_000,
  });
  page = await browser.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(`${server.url}/test/browser/`);
});

after(async () => {
  await browser?.close().catch(() => {});
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Tracks the camera in the page for `count` frames with the given stream reader. */
async function trackCamera(streamReader: 'processor' | 'video', count: number): Promise<{ frames: SeenFrame[]; hasProcessor: boolean }> {
  await page.bringToFront();
  return page.evaluate(async (streamReader, count) => {
    const lib = await import('/dist/browser/tsface.js' as string);
    const hasProcessor = typeof (globalThis as any).MediaStreamTrackProcessor === 'function';
    const detector = await lib.FaceDetector.create();
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 480, height: 360 } });
    const frames: SeenFrame[] = [];
    try {
      for await (const frame of detector.track(stream, { streamReader: hasProcessor ? streamReader : 'video' })) {
        frames.push({ index: frame.index, dropped: frame.dropped, detected: frame.detected, width: frame.width, faces: frame.faces.map((f: any) => ({ id: f.id, box: f.box })) });
        if (frames.length >= count) break;
      }
    } finally {
      for (const t of stream.getTracks()) t.stop();
      await detector.dispose();
    }
    return { frames, hasProcessor };
  }, streamReader, count);
}

function checkFrames(frames: SeenFrame[], label: string): void {
  assert.ok(frames.every((f) => f.width === 480), `${label}: frame widths ${frames.map((f) => f.width)}`);
  for (let i = 1; i < frames.length; i++) {
    assert.ok(frames[i].index === frames[i - 1].index + 1 + frames[i].dropped, `${label}: index ${frames[i - 1].index} then ${frames[i].index} with ${frames[i].dropped} dropped`);
  }
  const found = frames.map((f) => f.faces.length);
  assert.ok(found.every((n) => n >= 3), `${label}: faces per frame ${found}`);
  // Between two frames taken the picture moved a few pixels (a pixel per video frame; the
  // camera may repeat frames, so the index does not say how many): each face of a frame has its
  // nearest face in the next well within its own size, with the same id, unless the fake camera
  // looped back to its first frame (a jump of the whole picture, seen as no near face at all).
  const centre = (b: number[]) => [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
  let kept = 0;
  let pairs = 0;
  for (let i = 1; i < frames.length; i++) {
    const near = frames[i - 1].faces.map((f) => {
      const [cx, cy] = centre(f.box);
      const dist = frames[i].faces.map((g) => Math.hypot(centre(g.box)[0] - cx, centre(g.box)[1] - cy));
      const k = dist.indexOf(Math.min(...dist));
      return { f, g: frames[i].faces[k], close: dist[k] < 0.3 * (f.box[2] - f.box[0]) };
    });
    if (near.filter((n) => n.close).length < 2) continue;
    pairs++;
    for (const { f, g, close } of near) {
      if (!close) continue;
      assert.equal(g.id, f.id, `${label}: frame ${frames[i].index}: the face at ${f.box.map(Math.round)} changed id ${f.id} -> ${g.id}`);
      kept++;
    }
  }
  assert.ok(pairs >= frames.length - 2 && kept >= 3 * pairs, `${label}: ${kept} faces kept their ids over ${pairs} pairs of frames`);
  assert.ok(frames.some((f) => f.detected === null), `${label}: no followed frame`);
  console.log(`  ${label}: ${frames.length} frames, indices ${frames.map((f) => f.index).join(',')}, ${frames.map((f) => f.detected ?? 'f').join(',')}, faces ${found.join(',')}`);
}

test('a camera stream through MediaStreamTrackProcessor: faces found, ids kept, newest frames with drops counted', { skip }, async () => {
  const { frames, hasProcessor } = await trackCamera('processor', 8);
  if (!hasProcessor) console.warn('  this chromium has no MediaStreamTrackProcessor: the stream was read through a <video>');
  checkFrames(frames, hasProcessor ? 'processor' : 'video (no processor)');
});

test('a camera stream through an offscreen <video>: faces found, ids kept', { skip }, async () => {
  const { frames } = await trackCamera('video', 6);
  checkFrames(frames, 'video');
});

test('the demo page\'s camera mode tracks the camera: ids kept from frame to frame, no page error', { skip: skip || (FULL ? false : 'opt-in: TSFACE_BROWSER_FULL=1') }, async () => {
  const demo = await browser.newPage();
  demo.on('pageerror', (e) => pageErrors.push(`demo: ${e}`));
  await demo.bringToFront();
  await demo.goto(`${server.url}/examples/web/`);
  await demo.waitForFunction(() => document.body.dataset.state === 'ready', { timeout: 180_000 });
  await demo.click('#camera-start');
  await demo.waitForFunction(() => Number(document.body.dataset.cameraFrames ?? 0) >= 2, { timeout: 180_000 });
  const early = (await demo.evaluate(() => document.body.dataset.cameraIds ?? '')).split(',').filter(Boolean);
  await demo.waitForFunction(() => Number(document.body.dataset.cameraFrames ?? 0) >= 5, { timeout: 180_000 });
  const later = (await demo.evaluate(() => document.body.dataset.cameraIds ?? '')).split(',').filter(Boolean);
  const stats = await demo.$eval('#camera-stats', (e) => e.textContent ?? '');
  await demo.click('#camera-stop');
  await demo.waitForFunction(() => document.body.dataset.camera === 'off', { timeout: 60_000 });
  assert.ok(early.length >= 3 && later.length >= 3, `ids ${early} then ${later}`);
  assert.ok(later.filter((id) => early.includes(id)).length >= 3, `ids ${early} then ${later}: the faces changed ids`);
  assert.match(stats, /frames\/s .* faces \(ids .*\) .* ms .* camera frames dropped .* cpu /);
  console.log(`  demo camera: ${stats}`);
  await demo.close();
  assert.deepEqual(pageErrors, []);
});
