// The demo page (examples/web/) driven end to end in headless chromium: it loads and detects the
// bundled example, compares two faces, opens the layer inspector, shows a corrupt file's error
// as a message; screenshots go to the folder printed below, and any console error fails the test.
// Served twice: cross-origin isolated (COOP/COEP, the CPU backend on 2 threads), and plain, as
// most sites serve, where it runs on one thread and says why. On the plain page the "teach it"
// panel fine-tunes MobileFaceNet's head on real photos of three people from ../shared/images.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import type { Page } from 'puppeteer-core';
import { buildBrowser } from '../tools/build/browser.ts';
import { chromiumMissing, launchChromium } from '../tools/web/chromium.ts';
import { REPO, startServer, type StaticServer } from '../tools/web/server.ts';
import { toRgbImage } from '../src/image/decode.ts';
import { sharedPath, sharedSkip } from './helpers/shared.ts';

const skip = chromiumMissing();
if (skip) console.warn(`\n!!! ${skip}: SKIPPING the demo page test !!!\n`);

const shots = process.env.TSFACE_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'tsface-demo-'));
let server: StaticServer;
let plainServer: StaticServer;
let close: () => Promise<void>;
let page: Page;
let plainPage: Page;
const consoleErrors: string[] = [];

/** The bundled example twice, side by side, as a PNG: a photo with two faces of one person. */
function twoFacesPng(): string {
  const img = toRgbImage(join(REPO, 'examples', 'astronaut.jpg'));
  const png = new PNG({ width: img.width * 2, height: img.height });
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width * 2; x++) {
      const s = (y * img.width + (x % img.width)) * 3;
      const d = (y * img.width * 2 + x) * 4;
      png.data[d] = img.data[s];
      png.data[d + 1] = img.data[s + 1];
      png.data[d + 2] = img.data[s + 2];
      png.data[d + 3] = 255;
    }
  }
  const file = join(shots, 'two-astronauts.png');
  writeFileSync(file, PNG.sync.write(png));
  return file;
}

async function waitReady(on = page): Promise<void> {
  await on.waitForFunction(() => document.body.dataset.state === 'ready', { timeout: 120_000 });
}

/** Two photos' cosine from the page: uploads the two-face PNG and clicks both faces. */
async function compareTwoFaces(on: Page, png: string): Promise<number> {
  const input = (await on.$('#file')) as import('puppeteer-core').ElementHandle<HTMLInputElement> | null;
  await input!.uploadFile(png);
  await on.waitForFunction(() => /two-astronauts\.png: 2 faces/.test(document.getElementById('status')!.textContent ?? ''), { timeout: 120_000 });
  await waitReady(on);
  await on.click('.face[data-index="0"]');
  await on.click('.face[data-index="1"]');
  await on.waitForSelector('#verdict');
  return Number(await on.$eval('#cosine', (e) => e.textContent));
}

before(async () => {
  if (skip) return;
  mkdirSync(shots, { recursive: true });
  console.log(`  demo screenshots: ${shots}`);
  await buildBrowser();
  server = await startServer({ isolated: true });
  plainServer = await startServer({ isolated: false });
  const c = await launchChromium();
  close = c.close;
  const open = async (label: string) => {
    const p = await c.browser.newPage();
    await p.setViewport({ width: 1280, height: 1400 });
    p.on('pageerror', (e) => consoleErrors.push(`${label}: ${e}`));
    p.on('console', (m) => {
      if (m.type() === 'error' && !/GL Driver Message|GPU stall/.test(m.text())) consoleErrors.push(`${label}: ${m.text()}`);
    });
    return p;
  };
  page = await open('isolated');
  plainPage = await open('plain');
});

after(async () => {
  await close?.();
  await server?.close();
  await plainServer?.close();
});

test('the demo page detects the bundled example, compares two faces, inspects a layer, and reports a bad file', { skip }, async () => {
  // puppeteer's waitForFunction polls on animation frames, which a background tab never gets.
  await page.bringToFront();
  await page.goto(`${server.url}/examples/web/`);
  await waitReady();
  assert.match(await page.$eval('#status', (e) => e.textContent ?? ''), /astronaut\.jpg: 1 face/);
  assert.match(await page.$eval('#ran', (e) => e.textContent ?? ''), /ran: cpu, mode typescript\+wasm-simd\+winograd, 2 threads/);
  assert.equal(await page.$$eval('.face', (tiles) => tiles.length), 1);
  await page.screenshot({ path: join(shots, '1-example.png'), fullPage: true });

  const cosine = await compareTwoFaces(page, twoFacesPng());
  assert.ok(cosine > 0.99, `the same face twice: cosine ${cosine}`);
  assert.equal(await page.$eval('#verdict', (e) => e.textContent), 'same person');
  await page.screenshot({ path: join(shots, '2-compare.png'), fullPage: true });

  await page.select('#net', 'onet');
  await page.waitForFunction(() => (document.getElementById('layer') as HTMLSelectElement).options.length > 5, { timeout: 60_000 });
  const layer = await page.$eval('#layer', (s) => [...(s as HTMLSelectElement).options].find((o) => o.textContent!.startsWith('conv2 '))!.value);
  await page.select('#layer', layer);
  await page.waitForFunction(() => document.body.dataset.inspected === 'conv2', { timeout: 60_000 });
  const stats = await page.$eval('#layer-stats', (t) => t.textContent ?? '');
  assert.match(stats, /shape64 x 21 x 21/); // O-Net: 48 -> conv 46 -> pool 23 -> conv 21
  const mapsSize = await page.$eval('#maps', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
  assert.ok(mapsSize[0] > 100 && mapsSize[1] > 10, `feature map canvas ${mapsSize}`);
  await page.screenshot({ path: join(shots, '3-inspector.png'), fullPage: true });

  const corrupt = join(shots, 'corrupt.jpg');
  writeFileSync(corrupt, readFileSync(join(REPO, 'examples', 'astronaut.jpg')).subarray(0, 3000));
  const input = (await page.$('#file')) as import('puppeteer-core').ElementHandle<HTMLInputElement> | null;
  await input!.uploadFile(corrupt);
  await page.waitForFunction(() => !document.getElementById('error')!.hidden, { timeout: 60_000 });
  assert.match(await page.$eval('#error', (e) => e.textContent ?? ''), /^corrupt\.jpg: .*(truncated|corrupt|JPEG)/i);
  // The page still works after the error.
  assert.equal(await page.$$eval('.face', (tiles) => tiles.length), 2);
  await page.screenshot({ path: join(shots, '4-bad-file.png'), fullPage: true });

  assert.deepEqual(consoleErrors, []);
});

test('on a plain page (no COOP/COEP headers) the demo detects and compares on one thread, and says why', { skip }, async () => {
  await plainPage.bringToFront();
  await plainPage.goto(`${plainServer.url}/examples/web/`);
  await waitReady(plainPage);
  assert.equal(await plainPage.evaluate(() => crossOriginIsolated), false);
  assert.equal(await plainPage.$eval('#error', (e) => e.textContent), '', 'the page showed an error');
  assert.match(await plainPage.$eval('#status', (e) => e.textContent ?? ''), /astronaut\.jpg: 1 face/);
  assert.match(await plainPage.$eval('#ran', (e) => e.textContent ?? ''), /ran: cpu, mode typescript\+wasm-simd\+winograd, 1 thread \(the page is not cross-origin isolated .*one thread\)/);
  const cosine = await compareTwoFaces(plainPage, twoFacesPng());
  assert.ok(cosine > 0.99, `the same face twice: cosine ${cosine}`);
  await plainPage.screenshot({ path: join(shots, '5-plain-page.png'), fullPage: true });
  assert.deepEqual(consoleErrors, []);
});

/**
 * Three people, two photos each: coursera's camera_0 and younes are one person, camera_2 and
 * benoit another (../shared/images/SOURCES.md), and LFW's two Anthony Hopkins photos. The
 * coursera files are named by the panel from their file names, so two are renamed by hand.
 */
const TEACH_PHOTOS = [
  ['coursera/camera_0.jpg', 'camera', 'younes'],
  ['coursera/younes.jpg', 'younes', 'younes'],
  ['coursera/camera_2.jpg', 'camera', 'benoit'],
  ['coursera/benoit.jpg', 'benoit', 'benoit'],
  ['lfw-sample/Anthony_Hopkins_0001.jpg', 'Anthony_Hopkins', 'Anthony_Hopkins'],
  ['lfw-sample/Anthony_Hopkins_0002.jpg', 'Anthony_Hopkins', 'Anthony_Hopkins'],
] as const;

interface TeachResult {
  losses: number[];
  before: { same: number; different: number };
  after: { same: number; different: number };
  steps: number;
  ms: number;
}

const teachSkip = skip || sharedSkip('images/coursera') || sharedSkip('images/lfw-sample');

test('the teach-it panel fine-tunes on photos of three people in the page: the loss falls, same-person faces pull together, reset restores the weights', { skip: teachSkip }, async () => {
  const on = plainPage;
  await on.bringToFront();
  if (!on.url().startsWith(plainServer.url)) await on.goto(`${plainServer.url}/examples/web/`);
  await waitReady(on);
  const teachReady = () => on.waitForFunction(() => document.getElementById('teach')!.dataset.state === 'ready', { timeout: 120_000 });
  await teachReady();

  const input = (await on.$('#teach-files')) as import('puppeteer-core').ElementHandle<HTMLInputElement> | null;
  await input!.uploadFile(...TEACH_PHOTOS.map(([rel]) => sharedPath(`images/${rel}`)));
  await on.waitForFunction((n) => document.querySelectorAll('.teach-face').length === n && document.getElementById('teach')!.dataset.state === 'ready', { timeout: 120_000 }, TEACH_PHOTOS.length);
  assert.equal(await on.$eval('#teach-error', (e) => e.textContent), '', 'the panel showed an error');
  const names = await on.$$eval('.teach-face input', (inputs) => inputs.map((i) => (i as HTMLInputElement).value));
  assert.deepEqual(names, TEACH_PHOTOS.map(([, fromFile]) => fromFile), 'names from the file names');
  for (const [k, [, fromFile, person]] of TEACH_PHOTOS.entries()) {
    if (fromFile === person) continue;
    const field = `.teach-face:nth-child(${k + 1}) input`;
    await on.click(field, { clickCount: 3 });
    await on.type(field, person);
  }
  const bundled: number[][] = JSON.parse((await on.$eval('#teach', (e) => (e as HTMLElement).dataset.distances))!);

  await on.click('#teach-train');
  await on.waitForFunction(() => document.getElementById('teach')!.dataset.result !== undefined && document.getElementById('teach')!.dataset.state === 'ready', { timeout: 180_000 });
  assert.equal(await on.$eval('#teach-error', (e) => e.textContent), '', 'the panel showed an error');
  const r: TeachResult = JSON.parse((await on.$eval('#teach', (e) => (e as HTMLElement).dataset.result))!);
  const ratio = (m: { same: number; different: number }) => m.same / m.different;
  console.log(`  teach it (plain page, ${r.steps} steps in ${(r.ms / 1000).toFixed(1)} s): loss ${r.losses.map((l) => l.toFixed(3)).join(' ')}; mean distance same ${r.before.same.toFixed(3)} -> ${r.after.same.toFixed(3)}, different ${r.before.different.toFixed(3)} -> ${r.after.different.toFixed(3)}`);
  assert.equal(r.losses.length, r.steps);
  assert.ok(r.losses[0] > 0, 'the first step had no active triplet: nothing to learn');
  assert.ok(r.losses.at(-1)! < r.losses[0] / 2, `loss ${r.losses[0]} -> ${r.losses.at(-1)}`);
  assert.ok(ratio(r.after) < 0.9 * ratio(r.before), `same/different mean distance ${ratio(r.before)} -> ${ratio(r.after)}`);
  assert.equal(await on.$$eval('#teach-losses li', (items) => items.length), r.steps);
  const size = await on.$eval('#teach-after', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
  assert.ok(size[0] > 6 * 30 && size[1] > 6 * 30, `distance matrix canvas ${size}`);
  await on.screenshot({ path: join(shots, '6-teach.png'), fullPage: true });

  // Reset: the bundled weights again, so the bundled distances to the last bit.
  await on.click('#teach-reset');
  await on.waitForFunction(() => document.getElementById('teach')!.dataset.result === undefined && document.getElementById('teach')!.dataset.state === 'ready', { timeout: 60_000 });
  const restored: number[][] = JSON.parse((await on.$eval('#teach', (e) => (e as HTMLElement).dataset.distances))!);
  assert.deepEqual(restored, bundled);
  assert.deepEqual(consoleErrors, []);
});
