// PNG files built to hurt: every one is refused with an ImageError (or decoded exactly), in
// bounded time, and the same bytes always give the same answer.
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { test } from 'node:test';
import { decodeImage } from '../src/image/decode.ts';
import { Inflater } from '../src/image/png/inflate.ts';
import { ImageError } from '../src/errors.ts';
import { PNG } from 'pngjs';
import { chunk, encodePng } from './helpers/png.ts';

function png(width: number, height: number, idat: Uint8Array, colorType = 2, depth = 8, extra: Uint8Array[] = []): Uint8Array {
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([depth, colorType, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), ...extra, chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]);
}

/** Unfiltered rows (filter byte 0) of a W x H RGB image, deflated. */
function rows(width: number, height: number): Uint8Array {
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let i = 0; i < raw.length; i++) raw[i] = i % (1 + width * 3) === 0 ? 0 : (i * 31) & 255;
  return deflateSync(raw);
}

function refused(bytes: Uint8Array, pattern: RegExp, what: string, maxPixels?: number): void {
  assert.throws(() => decodeImage(bytes, { maxPixels }), (e: unknown) => e instanceof ImageError && pattern.test(e.message), what);
}

test('a tiny PNG declaring 50000000x1 with empty image data is a typed error, not a process abort', () => {
  const bomb = png(50_000_000, 1, deflateSync(new Uint8Array(0)));
  assert.ok(bomb.length < 80);
  // At the default limit the header alone refuses it; with the limit raised, the decoder does.
  refused(bomb, /50000000x1 is 50\.0 megapixels, over the limit/, '50000000x1, default limit');
  refused(bomb, /image data ends early: \d+ compressed bytes cannot hold the 50000000x1/, '50000000x1, empty data', 1e8);
  refused(png(1, 50_000_000, new Uint8Array(0)), /cannot hold/, 'no zlib header', 1e8);
  // Data that could hold the rows but does not: found while inflating, row by row.
  refused(png(2000, 2000, rows(2000, 1000)), /ends early: rows 1000 of 2000/, 'short data');
});

test('a PNG that decompresses to the full declared size is decoded within the pixel limit', () => {
  // 4000x4000 RGB of zeros: 48 MB of rows from about 50 KB of data.
  const img = decodeImage(png(4000, 4000, deflateSync(new Uint8Array(4000 * (1 + 4000 * 3)), { level: 9 })));
  assert.equal(img.data.length, 4000 * 4000 * 3);
  refused(png(4000, 4000, deflateSync(new Uint8Array(10))), /cannot hold/, 'declared 16 MP, 20 bytes of data');
});

test('image data that does not match the declared size is refused: too few rows, too many rows', () => {
  const good = png(6, 5, rows(6, 5));
  assert.equal(decodeImage(good).height, 5);
  refused(png(6, 7, rows(6, 5)), /ends early: rows 5 of 7/, 'height raised');
  refused(png(6, 4, rows(6, 5)), /more image data than 6x4/, 'height lowered');
  refused(png(5, 5, rows(6, 5)), /more image data|unknown row filter/, 'width lowered');
  refused(png(7, 5, rows(6, 5)), /ends early|unknown row filter/, 'width raised');
});

test('structural damage is refused with a message that says what is wrong', () => {
  const good = encodePng(4, 3, 2, 8, Array.from({ length: 36 }, (_, i) => i * 7));
  const flip = (at: number) => { const b = Uint8Array.from(good); b[at] ^= 1; return b; };
  refused(flip(20), /IHDR chunk CRC/, 'IHDR height bit flipped');
  refused(flip(good.length - 20), /IDAT chunk CRC/, 'IDAT byte flipped');
  refused(good.subarray(0, good.length - 12), /ends before the IEND/, 'IEND cut off');
  refused(png(4, 3, rows(4, 3), 2, 8, [chunk('ABCD', new Uint8Array(3))]), /unknown critical chunk ABCD/, 'unknown critical chunk');
  assert.equal(decodeImage(png(4, 3, rows(4, 3), 2, 8, [chunk('abCD', new Uint8Array(3))])).width, 4, 'unknown ancillary chunk skipped');
  refused(png(4, 3, rows(4, 3), 3, 8), /without a PLTE/, 'palette image, no palette');
  refused(png(4, 3, rows(4, 3), 2, 4), /bit depth 4 is not allowed for colour type 2/, 'bad depth');
  refused(png(4, 3, rows(4, 3), 7, 8), /invalid colour type 7/, 'bad colour type');
  const raw = new Uint8Array(3 * 13).fill(0);
  raw[13] = 9; // second row's filter byte
  refused(png(4, 3, deflateSync(raw)), /unknown row filter type 9/, 'bad filter byte');
  const z = Uint8Array.from(rows(4, 3));
  z[z.length - 1] ^= 0xff;
  refused(png(4, 3, z), /Adler-32/, 'checksum of the data');
  refused(encodePng(2, 1, 3, 8, [0, 3], [[1, 2, 3], [4, 5, 6]]), /palette index 3 is outside the 2-entry palette/, 'index past the palette');
});

test('every truncation of a PNG is refused, and the same bytes always give the same error', () => {
  const good = encodePng(9, 7, 6, 16, Array.from({ length: 9 * 7 * 4 }, (_, i) => (i * 4099) & 0xffff));
  for (let n = 0; n < good.length; n++) {
    const cut = good.subarray(0, n);
    const messages = [0, 1, 2].map(() => { try { decodeImage(cut); return 'decoded'; } catch (e) { assert.ok(e instanceof ImageError, `cut at ${n}: ${e}`); return e.message; } });
    assert.notEqual(messages[0], 'decoded', `cut at ${n} decoded`);
    assert.ok(messages.every((m) => m === messages[0]), `cut at ${n}: ${messages.join(' / ')}`);
  }
});

test('inflate: deflate streams from zlib round-trip; an output cap is honoured; garbage never hangs', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255;
  for (const [level, size] of [[0, 70000], [1, 100000], [6, 5000], [9, 150000]]) {
    const data = Uint8Array.from({ length: size }, (_, i) => (i % 3 ? rand() : i & 255));
    const out = new Uint8Array(size + 1);
    const inf = new Inflater(deflateSync(data, { level }));
    assert.equal(inf.read(out, 0, size + 1), size, `level ${level}`);
    assert.ok(inf.finished);
    assert.ok(Buffer.from(out.subarray(0, size)).equals(data), `level ${level}`);
  }
  // A 1 GB bomb: reading 10 bytes costs one 64 KiB chunk of work, not the gigabyte.
  const bomb = deflateSync(new Uint8Array(1 << 30 >> 4), { level: 9 });
  const inflater = new Inflater(bomb);
  assert.equal(inflater.read(new Uint8Array(10), 0, 10), 10);
  // Counted in bytes inflated, not milliseconds (a loaded machine makes any time bound flaky).
  assert.ok(inflater.totalOut <= 65536 + 258, `inflated ${inflater.totalOut} bytes to give 10`);
  for (let t = 0; t < 300; t++) {
    const junk = Uint8Array.from({ length: 2 + (t % 50) * 20 }, rand);
    junk[0] = 0x78; junk[1] = 0x9c;
    try {
      new Inflater(junk).read(new Uint8Array(1 << 20), 0, 1 << 20);
    } catch (e) {
      assert.equal((e as Error).constructor.name, 'InflateError', String(e));
    }
  }
});

test('inflate: a stream read in pieces (as IDAT chunks lie in the file) gives the same bytes and the same errors as read whole', () => {
  let seed = 11;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255;
  // Stored blocks (level 0), fixed and dynamic codes; piece sizes that cut headers, stored-block
  // lengths and the Adler-32 trailer anywhere, empty pieces included.
  for (const [level, size] of [[0, 70000], [1, 30000], [9, 20000]]) {
    const data = Uint8Array.from({ length: size }, (_, i) => (i % 3 ? rand() : i & 255));
    const stream = deflateSync(data, { level });
    for (const sizes of [[1], [2, 0, 3], [7], [4093, 1, 5]]) {
      const pieces: Uint8Array[] = [];
      for (let at = 0, k = 0; at < stream.length; k++) {
        const n = sizes[k % sizes.length];
        pieces.push(stream.subarray(at, at + n));
        at += n;
      }
      const out = new Uint8Array(size + 1);
      const inf = new Inflater(pieces);
      assert.equal(inf.read(out, 0, size + 1), size, `level ${level}, pieces of ${sizes}`);
      assert.ok(inf.finished);
      assert.ok(Buffer.from(out.subarray(0, size)).equals(data), `level ${level}, pieces of ${sizes}`);
    }
    // Cut short anywhere, in pieces or whole: the same InflateError message.
    for (const cut of [1, 2, 3, 5, stream.length >> 1, stream.length - 4, stream.length - 1]) {
      const short = stream.subarray(0, cut);
      const message = (input: Uint8Array | Uint8Array[]) => {
        try {
          new Inflater(input).read(new Uint8Array(size), 0, size);
          return 'no error';
        } catch (e) {
          assert.equal((e as Error).constructor.name, 'InflateError', String(e));
          return (e as Error).message;
        }
      };
      const bytewise = Array.from(short, (_, i) => short.subarray(i, i + 1));
      assert.equal(message(bytewise), message(short), `level ${level}, cut at ${cut}`);
    }
  }
});

test('a PNG whose image data is split into many IDAT chunks decodes to the pixels pngjs gives, as one chunk does', () => {
  const width = 61, height = 37;
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    raw[y * (1 + width * 3)] = y % 5;
    for (let i = 1; i <= width * 3; i++) raw[y * (1 + width * 3) + i] = (i * 7 + y * 13) & 255;
  }
  for (const level of [0, 9]) {
    const stream = deflateSync(raw, { level });
    const one = png(width, height, stream);
    // The same file with its image data cut into chunks of 1, 2, 3, ... bytes, an empty one first.
    const chunks = [chunk('IDAT', new Uint8Array(0))];
    for (let at = 0, n = 1; at < stream.length; at += n, n++) chunks.push(chunk('IDAT', stream.subarray(at, at + n)));
    const split = Buffer.concat([one.subarray(0, 33), ...chunks, one.subarray(one.length - 12)]);
    const ref = PNG.sync.read(Buffer.from(split));
    const rgb = new Uint8Array(width * height * 3);
    for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) rgb.set(ref.data.subarray(i, i + 3), j);
    for (const [what, bytes] of [['one chunk', one], [`${chunks.length} chunks`, split]] as const) {
      const img = decodeImage(bytes);
      assert.equal(img.width * img.height, width * height, what);
      assert.ok(Buffer.from(img.data).equals(Buffer.from(rgb)), `level ${level}, ${what}`);
    }
  }
});
