import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import jpeg from 'jpeg-js';
import { applyOrientation, decodeImage, jpegOrientation, toRgbImage } from '../src/image/decode.ts';
import { ImageError, InputValueError } from '../src/errors.ts';
import { encodePng } from './helpers/png.ts';

const W = 5;
const H = 3;
const rgb = Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 37 + 11) % 256);

test('PNG of every colour type and bit depth decodes to the same RGB', () => {
  const grey = Uint8Array.from({ length: W * H }, (_, i) => (i * 53) % 256);
  const greyRgb = Uint8Array.from({ length: W * H * 3 }, (_, i) => grey[Math.floor(i / 3)]);
  const alpha = (i: number) => (i * 91) % 256;
  const cases: [string, Uint8Array, Uint8Array][] = [
    ['RGB 8', encodePng(W, H, 2, 8, rgb), rgb],
    ['RGB 16', encodePng(W, H, 2, 16, Array.from(rgb, (v) => v * 257)), rgb],
    ['RGBA 8 (alpha dropped, colour kept)', encodePng(W, H, 6, 8, Array.from({ length: W * H * 4 }, (_, i) => (i % 4 === 3 ? alpha(i) : rgb[Math.floor(i / 4) * 3 + (i % 4)]))), rgb],
    ['RGBA 16', encodePng(W, H, 6, 16, Array.from({ length: W * H * 4 }, (_, i) => (i % 4 === 3 ? 0 : rgb[Math.floor(i / 4) * 3 + (i % 4)] * 257))), rgb],
    ['grey 8', encodePng(W, H, 0, 8, grey), greyRgb],
    // PIL's 16-bit grey ('I;16') to RGB clips at 255 rather than keeping the high byte.
    ['grey 16', encodePng(W, H, 0, 16, Array.from(grey, (v) => v * 257)), Uint8Array.from(greyRgb, (v) => (v ? 255 : 0))],
    ['grey+alpha 8', encodePng(W, H, 4, 8, Array.from({ length: W * H * 2 }, (_, i) => (i % 2 ? alpha(i) : grey[i >> 1]))), greyRgb],
    ['palette', encodePng(W, H, 3, 8, Array.from({ length: W * H }, (_, i) => i), Array.from({ length: W * H }, (_, i) => [...rgb.subarray(3 * i, 3 * i + 3)])), rgb],
  ];
  for (const [name, bytes, expected] of cases) {
    const img = decodeImage(bytes);
    assert.equal(img.width, W, name);
    assert.equal(img.height, H, name);
    assert.deepEqual([...img.data], [...expected], name);
  }
});

test('a JPEG written by jpeg-js decodes (tsface decoder); EXIF orientation is read and applied', () => {
  const rgba = new Uint8Array(16 * 8 * 4).fill(200);
  const encoded = jpeg.encode({ data: rgba, width: 16, height: 8 }, 95).data;
  const img = decodeImage(encoded);
  assert.deepEqual([img.width, img.height], [16, 8]);
  assert.equal(jpegOrientation(encoded), 1);
  // An APP1 Exif segment with orientation 6 (rotate 90 clockwise) inserted after SOI.
  const tiff = [0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0];
  const app1 = [0xff, 0xe1, 0, 2 + 6 + tiff.length, 0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff];
  const rotated = new Uint8Array([...encoded.subarray(0, 2), ...app1, ...encoded.subarray(2)]);
  assert.equal(jpegOrientation(rotated), 6);
  const up = decodeImage(rotated);
  assert.deepEqual([up.width, up.height], [8, 16]);
  // Orientation 6: the top-left output pixel is the bottom-left input pixel.
  const src = { width: 2, height: 2, data: new Uint8Array([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]) };
  assert.deepEqual([...applyOrientation(src, 6).data.filter((_, i) => i % 3 === 0)], [3, 1, 4, 2]);
  assert.deepEqual([...applyOrientation(src, 3).data.filter((_, i) => i % 3 === 0)], [4, 3, 2, 1]);
});

test('bad images are typed errors, never crashes', () => {
  const astronaut = readFileSync(new URL('../examples/astronaut.jpg', import.meta.url));
  const bad: [string, () => unknown, Function][] = [
    ['not an image', () => decodeImage(new TextEncoder().encode('<html>hello</html>')), ImageError],
    ['empty file', () => decodeImage(new Uint8Array(0)), ImageError],
    ['truncated JPEG header', () => decodeImage(astronaut.subarray(0, 100)), ImageError],
    ['JPEG truncated mid-scan', () => decodeImage(astronaut.subarray(0, astronaut.length >> 1)), ImageError],
    ['truncated PNG', () => decodeImage(encodePng(W, H, 2, 8, rgb).subarray(0, 40)), ImageError],
    ['corrupt PNG data', () => { const p = encodePng(W, H, 2, 8, rgb); p[45] ^= 0xff; return decodeImage(p); }, ImageError],
    ['zero width raw', () => toRgbImage({ width: 0, height: 10, data: new Uint8Array(0) }), ImageError],
    ['raw size mismatch', () => toRgbImage({ width: 4, height: 4, data: new Uint8Array(10) }), ImageError],
    ['NaN in raw', () => toRgbImage({ width: 1, height: 1, data: [1, NaN, 3] }), InputValueError],
    ['absurd PNG dimensions, refused before decoding', () => decodeImage(encodePng(1, 1, 2, 8, [0, 0, 0]).map((b, i) => (i >= 16 && i < 24 ? [0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff][i - 16] : b))), ImageError],
    ['over a custom pixel limit', () => decodeImage(astronaut, { maxPixels: 1000 }), ImageError],
    ['missing file', () => toRgbImage('/nonexistent/file.jpg'), ImageError],
  ];
  for (const [name, fn, type] of bad) assert.throws(fn, type as any, name);
});

test('raw pixels: 8-bit RGB and RGBA arrays give the values the general path gives, as a copy of the caller\'s buffer', () => {
  const W = 7, H = 5;
  const rgba = new Uint8ClampedArray(W * H * 4).map((_, i) => (i * 37 + 11) & 255);
  const rgb = new Uint8Array(W * H * 3).map((_, i) => (i * 53 + 5) & 255);
  // The general path (numbers, checked and rounded one by one) is the reference for both.
  const viaNumbers = (data: ArrayLike<number>, channels: 3 | 4) => toRgbImage({ width: W, height: H, data: Array.from(data), channels });
  for (const [name, data, channels] of [['RGB Uint8Array', rgb, 3], ['RGBA Uint8ClampedArray (ImageData)', rgba, 4], ['RGBA Uint8Array', new Uint8Array(rgba), 4], ['RGB Uint8ClampedArray', new Uint8ClampedArray(rgb), 3]] as const) {
    const out = toRgbImage({ width: W, height: H, data });
    assert.deepEqual([out.width, out.height], [W, H], name);
    assert.ok(out.data instanceof Uint8Array && !(out.data instanceof Uint8ClampedArray), `${name}: a Uint8Array`);
    assert.deepEqual(Array.from(out.data), Array.from(viaNumbers(data, channels).data), name);
    // A video frame's buffer is refilled: the image must not see that.
    const before = Array.from(out.data);
    data.fill(0);
    assert.deepEqual(Array.from(out.data), before, `${name}: shares the caller's buffer`);
  }
});
