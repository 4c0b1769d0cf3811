// P-Net over a pyramid level in tiles gives the whole level's maps bit for bit (on the SIMD and
// TypeScript CPU paths and gpu.js), whether the tiles are cut from a whole level or resized a
// window at a time from the 8-bit image, and a window of the area resize equals the same cells
// of the whole resize.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { loadMtcnn } from '../src/nets/weights.ts';
import { imageLevel, pnetMaps } from '../src/pipeline/pnetBands.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { areaResizeNormalized, areaResizeWindowNormalized } from '../src/tensor/cpu/resample.ts';
import { GpujsBackend, gpujsAvailability } from '../src/tensor/gpujs/backend.ts';
import type { Tensor } from '../src/tensor/tensor.ts';
import { seeded } from './helpers/seeded.ts';

const { pnet } = loadMtcnn();
const backends = [new CpuBackend({ threads: 1, simd: true }), new CpuBackend({ threads: 1, simd: false })];
after(() => Promise.all(backends.map((b) => b.dispose())));

for (const backend of backends) {
  test(`bands of any height equal one pass (${backend.describe().mode})`, async () => {
    for (const [h, w] of [[301, 257], [64, 90], [23, 40]]) {
      const x = seeded([1, 3, h, w], h * 7 + w);
      const whole = await pnet.forward(backend, x);
      for (const band of [200, 3000, 9000]) {
        const got = await pnetMaps(pnet, backend, x, band);
        for (const head of ['prob', 'box'] as const) {
          assert.deepEqual(got[head].shape, whole[head].shape, `${h}x${w} band ${band} ${head} shape`);
          const bad = got[head].data.findIndex((v, i) => !Object.is(v, whole[head].data[i]));
          assert.equal(bad, -1, `${h}x${w} band ${band} ${head}: first difference at ${bad}`);
        }
      }
    }
  });
}

/** A deterministic 8-bit RGB image with detail in every channel. */
function pixels(width: number, height: number, seed: number) {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { width, height, data };
}

function assertSameMaps(got: Record<string, Tensor>, want: Record<string, Tensor>, label: string): void {
  for (const head of ['prob', 'box'] as const) {
    assert.deepEqual(got[head].shape, want[head].shape, `${label} ${head} shape`);
    const bad = got[head].data.findIndex((v, i) => !Object.is(v, want[head].data[i]));
    assert.equal(bad, -1, `${label} ${head}: first difference at ${bad}`);
  }
}

test('a window of the area resize equals those cells of the whole resize', () => {
  const img = pixels(97, 61, 5);
  for (const [region, outH, outW] of [[{ x: 0, y: 0, width: 97, height: 61 }, 43, 70], [{ x: 3, y: 2, width: 91, height: 57 }, 57, 91], [{ x: 1, y: 0, width: 20, height: 61 }, 30, 9]] as const) {
    const whole = new Float32Array(3 * outH * outW);
    areaResizeNormalized(img, region, outH, outW, whole);
    for (const win of [{ y0: 0, y1: outH, x0: 0, x1: outW }, { y0: 1, y1: 8, x0: 2, x1: 7 }, { y0: outH - 5, y1: outH, x0: outW - 3, x1: outW }, { y0: 4, y1: 5, x0: 0, x1: outW }]) {
      const h = win.y1 - win.y0, w = win.x1 - win.x0;
      const got = new Float32Array(3 * h * w + 4);
      areaResizeWindowNormalized(img, region, outH, outW, win, got, 4);
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const want = whole[(c * outH + win.y0 + y) * outW + win.x0 + x];
            assert.ok(Object.is(got[4 + (c * h + y) * w + x], want), `${outH}x${outW} window ${JSON.stringify(win)} at c${c} y${y} x${x}`);
          }
        }
      }
    }
  }
});

for (const backend of backends) {
  test(`tiles resized from the 8-bit image equal one pass over the whole level (${backend.describe().mode})`, async () => {
    const img = pixels(211, 173, 9);
    for (const [h, w] of [[127, 104], [126, 103], [173, 211], [40, 150]]) {
      const level = await backend.resizeArea(img, [{ x: 0, y: 0, width: img.width, height: img.height }], h, w);
      const whole = await pnet.forward(backend, level);
      for (const tile of [300, 1600, 1e6]) {
        assertSameMaps(await pnetMaps(pnet, backend, imageLevel(img, h, w), tile), whole, `${h}x${w} tile ${tile}`);
      }
    }
  });
}

const gpujs = (await gpujsAvailability()).cpu;
test('tiles equal one pass on gpu.js (cpu mode)', { skip: gpujs === true ? false : `gpu.js cpu mode: ${gpujs}` }, async () => {
  const backend = new GpujsBackend({ mode: 'cpu' });
  try {
    const x = seeded([1, 3, 61, 47], 11);
    const whole = await pnet.forward(backend, x);
    assertSameMaps(await pnetMaps(pnet, backend, x, 900), whole, 'gpu.js 61x47 tile 900');
  } finally {
    await backend.dispose();
  }
});

test('a detection on tiled levels keeps the whole level\'s probability map and candidate order', async () => {
  const { FaceDetector } = await import('../src/pipeline/mtcnn.ts');
  const { toRgbImage } = await import('../src/image/decode.ts');
  const { resizeBicubic } = await import('../src/image/resize.ts');
  const backend = new CpuBackend({ threads: 1 });
  const detector = new FaceDetector({ backend });
  // Upscaled so that the first level (0.6 of it) spans several tiles both ways, odd-sized.
  const img = resizeBicubic(toRgbImage('examples/astronaut.jpg'), 1403, 1217);
  const d = await detector.detect(img, { keepStages: true, thresholds: [0.3, 0.7, 0.7] });
  const scale = d.report.scales[0];
  const [h, w] = [Math.trunc(img.height * scale + 1), Math.trunc(img.width * scale + 1)];
  const whole = await pnet.forward(backend, await backend.resizeArea(img, [{ x: 0, y: 0, width: img.width, height: img.height }], h, w));
  const [, , mh, mw] = whole.prob.shape;
  assert.ok(mh > 2 * 175 && mw > 2 * 175, 'the first level is tiled both ways');
  const map = d.report.stages!.probMaps[0];
  assert.deepEqual([map.height, map.width], [mh, mw]);
  const bad = map.data.findIndex((v, i) => !Object.is(v, whole.prob.data[mh * mw + i]));
  assert.equal(bad, -1, `probability map differs at ${bad}`);
  const f = Math.fround, fs = f(scale);
  const want = [];
  for (let by = 0; by < mh; by++) {
    for (let bx = 0; bx < mw; bx++) {
      const score = whole.prob.data[mh * mw + by * mw + bx];
      if (score >= f(0.3)) want.push({ x1: Math.floor(f(f(2 * bx + 1) / fs)), y1: Math.floor(f(f(2 * by + 1) / fs)), x2: Math.floor(f(f(2 * bx + 12) / fs)), y2: Math.floor(f(f(2 * by + 12) / fs)), score });
    }
  }
  assert.ok(want.length > 10);
  assert.deepEqual(d.report.stages!.pnet.slice(0, want.length), want);
  await backend.dispose();
});
