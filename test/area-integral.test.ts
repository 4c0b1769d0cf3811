// Area resizing through the integral image (withIntegral) against the loop over each window:
// the same integer sums, so the same float32 averages bit for bit, whatever the region and size.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { areaResizeNormalized, areaResizeWindowNormalized, INTEGRAL_MAX_PIXELS, withIntegral, type RgbPixels } from '../src/tensor/cpu/resample.ts';

function image(width: number, height: number, seed: number, fill?: number): RgbPixels {
  let s = seed;
  const data = new Uint8Array(width * height * 3).map(() => fill ?? ((s = (s * 1103515245 + 12345) >>> 0) >>> 24));
  return { width, height, data };
}

// TSFACE_SIMD=0 or TSFACE_INTEGRAL_WASM=0 keep the TypeScript integral everywhere.
const kernels = process.env.TSFACE_SIMD !== '0' && process.env.TSFACE_INTEGRAL_WASM !== '0';

function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.fail(`${what}: [${i}] ${b[i]} with the integral, ${a[i]} without`);
}

test('area resize with the integral image equals the window loop bit for bit: pyramid levels, crops, windows', () => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  for (const [w, h] of [[1, 1], [13, 7], [97, 131], [640, 480]]) {
    const img = image(w, h, w * 31 + h);
    const fast = withIntegral(img);
    const typescript = withIntegral(img, false);
    assert.ok(typescript.integral, `${w}x${h} gets an integral image`);
    if (kernels) {
      assert.ok(fast.integralImage, `${w}x${h} gets the kernels' integral image`);
      assert.deepEqual(fast.integralImage.cells(), typescript.integral, `${w}x${h}: the kernels' integral has the same cells`);
    }
    for (let trial = 0; trial < 25; trial++) {
      const x = rnd(w), y = rnd(h);
      const region = { x, y, width: 1 + rnd(w - x), height: 1 + rnd(h - y) };
      const [outH, outW] = trial % 3 === 0 ? [24, 24] : [1 + rnd(2 * region.height), 1 + rnd(2 * region.width)];
      const a = new Float32Array(3 * outH * outW);
      const b = new Float32Array(3 * outH * outW);
      areaResizeNormalized(img, region, outH, outW, a);
      areaResizeNormalized(fast, region, outH, outW, b);
      sameBits(a, b, `${w}x${h} region ${JSON.stringify(region)} to ${outW}x${outH}`);
      areaResizeNormalized(typescript, region, outH, outW, b.fill(NaN));
      sameBits(a, b, `${w}x${h} region ${JSON.stringify(region)} to ${outW}x${outH}, TypeScript integral`);
      const win = { y0: rnd(outH), y1: outH, x0: rnd(outW), x1: outW };
      const c = new Float32Array(3 * (win.y1 - win.y0) * (win.x1 - win.x0));
      const d = new Float32Array(c.length);
      areaResizeWindowNormalized(img, region, outH, outW, win, c);
      areaResizeWindowNormalized(fast, region, outH, outW, win, d);
      sameBits(c, d, `window ${JSON.stringify(win)}`);
      areaResizeWindowNormalized(typescript, region, outH, outW, win, d.fill(NaN));
      sameBits(c, d, `window ${JSON.stringify(win)}, TypeScript integral`);
    }
  }
});

test('the largest image that gets an integral, all 255s, averages to 255; larger ones keep the window loop', () => {
  const side = Math.floor(Math.sqrt(INTEGRAL_MAX_PIXELS));
  const img = image(side, Math.floor(INTEGRAL_MAX_PIXELS / side), 1, 255);
  const fast = withIntegral(img);
  assert.ok(fast.integral || fast.integralImage);
  const region = { x: 0, y: 0, width: img.width, height: img.height };
  const out = new Float32Array(3);
  areaResizeNormalized(fast, region, 1, 1, out);
  assert.deepEqual([...out], [...new Float32Array(3).fill(Math.fround(Math.fround(255 - 127.5) * 0.0078125))]);
  // Its sums pass 2^24: the kernels hand that resize back, the TypeScript integral's division gives the same.
  areaResizeNormalized(withIntegral(img, false), region, 1, 1, out.fill(NaN));
  assert.deepEqual([...out], [...new Float32Array(3).fill(Math.fround(Math.fround(255 - 127.5) * 0.0078125))]);
  assert.equal(withIntegral({ width: INTEGRAL_MAX_PIXELS + 1, height: 1, data: new Uint8Array(3 * (INTEGRAL_MAX_PIXELS + 1)) }).integral, undefined, 'larger images keep the window loop');
});
