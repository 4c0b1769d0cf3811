// Bad JPEGs: truncated anywhere, frame size changed, tables missing, garbage, bombs. Each must
// end in an ImageError that says what is wrong, quickly, before any large allocation; and a
// mutated file the decoder does accept must give libjpeg-turbo's pixels.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { decodeImage } from '../src/image/decode.ts';
import { decodeJpeg } from '../src/image/jpeg/index.ts';
import { ImageError } from '../src/errors.ts';

const hasLibjpeg = spawnSync('cjpeg', ['-version'], { stdio: 'ignore' }).error === undefined && spawnSync('djpeg', ['-version'], { stdio: 'ignore' }).error === undefined;
const noLibjpeg = hasLibjpeg ? false : 'libjpeg-turbo-progs (cjpeg/djpeg) is not installed: SKIPPING (CI installs it)';
if (noLibjpeg) console.warn(`\n!!! ${noLibjpeg} !!!\n`);

const dir = mkdtempSync(join(tmpdir(), 'tsface-jpeg-bad-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function encode(name: string, width: number, height: number, args: string[]): Uint8Array {
  const header = `P6\n${width} ${height}\n255\n`;
  const ppm = new Uint8Array(header.length + width * height * 3);
  ppm.set(new TextEncoder().encode(header));
  for (let i = header.length, k = 0; i < ppm.length; i++, k++) ppm[i] = (k * 7 + ((k / 97) | 0) * 13) & 255;
  const src = join(dir, `${name}.ppm`);
  const out = join(dir, `${name}.jpg`);
  writeFileSync(src, ppm);
  execFileSync('cjpeg', [...args, '-outfile', out, src]);
  return new Uint8Array(readFileSync(out));
}

/** Offset of the first segment with this marker (its 0xFF byte). */
function segmentAt(bytes: Uint8Array, marker: number): number {
  for (let at = 2; at + 3 < bytes.length;) {
    assert.equal(bytes[at], 0xff);
    if (bytes[at + 1] === marker) return at;
    assert.notEqual(bytes[at + 1], 0xda, `marker 0x${marker.toString(16)} not found before the scan`);
    at += 2 + ((bytes[at + 2] << 8) | bytes[at + 3]);
  }
  throw new Error('marker not found');
}

function withoutSegments(bytes: Uint8Array, marker: number): Uint8Array {
  let out = bytes;
  for (;;) {
    let at: number;
    try { at = segmentAt(out, marker); } catch { return out; }
    const end = at + 2 + ((out[at + 2] << 8) | out[at + 3]);
    const next = new Uint8Array(out.length - (end - at));
    next.set(out.subarray(0, at));
    next.set(out.subarray(end), at);
    out = next;
  }
}

/** Offset of the frame header, baseline or progressive. */
function sofAt(bytes: Uint8Array): number {
  try { return segmentAt(bytes, 0xc0); } catch { return segmentAt(bytes, 0xc2); }
}

function withSize(bytes: Uint8Array, width: number, height: number): Uint8Array {
  const out = bytes.slice();
  const sof = sofAt(out);
  out[sof + 5] = height >> 8; out[sof + 6] = height & 255;
  out[sof + 7] = width >> 8; out[sof + 8] = width & 255;
  return out;
}

/** Decodes and expects an ImageError whose message matches. */
function refused(bytes: Uint8Array, message: RegExp, label: string, options = {}): void {
  assert.throws(() => decodeJpeg(bytes, options), (e: unknown) => {
    assert.ok(e instanceof ImageError, `${label}: ${(e as Error)?.constructor?.name} ${(e as Error)?.message}`);
    assert.match(e.message, message, label);
    return true;
  }, label);
}

function djpegPixels(bytes: Uint8Array): Uint8Array | null {
  const file = join(dir, 'mutant.jpg');
  writeFileSync(file, bytes);
  const r = spawnSync('djpeg', ['-rgb', '-ppm', file], { maxBuffer: 1 << 26 });
  // Exit status 2 means decoded with warnings (libjpeg's recoveries): the pixels are still its answer.
  if (r.status !== 0 && r.status !== 2) return null;
  const out = r.stdout as Buffer;
  // -rgb makes grayscale files P6 too; after the header "P6\n<w> <h>\n255\n" come w*h*3 bytes.
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

const CORRUPT = /JPEG/;

test('truncation anywhere is refused; a sequential file missing only its end marker decodes like libjpeg', { skip: noLibjpeg }, () => {
  for (const [name, args] of [['baseline', ['-sample', '2x2']], ['progressive', ['-progressive']], ['restarts', ['-restart', '1B']]] as [string, string[]][]) {
    const bytes = encode(`trunc-${name}`, 96, 80, args);
    const sos = segmentAt(bytes, 0xda);
    const cuts = [0, 1, 2, 3, 4, 20, sofAt(bytes) + 6, sos, sos + 10, sos + 40, (sos + bytes.length) >> 1, bytes.length - 3];
    for (const cut of cuts) refused(bytes.subarray(0, cut), CORRUPT, `${name} cut at ${cut} of ${bytes.length}`);
    const noEnd = bytes.subarray(0, bytes.length - 2);
    if (name === 'progressive') {
      refused(noEnd, /no end-of-image marker/, 'progressive without EOI');
    } else {
      const px = djpegPixels(noEnd)!;
      const got = decodeJpeg(noEnd);
      assert.deepEqual(got.data, px.subarray(px.length - got.data.length), `${name} without EOI`);
    }
  }
});

test('a frame header whose size no longer matches the data is refused', { skip: noLibjpeg }, () => {
  for (const [name, args] of [['4:2:0', ['-sample', '2x2']], ['gray', ['-grayscale']], ['restarts', ['-restart', '2B', '-sample', '1x1']]] as [string, string[]][]) {
    const bytes = encode(`size-${name}`, 96, 80, args);
    for (const [w, h] of [[96, 96], [96, 64], [96, 160], [96, 16], [112, 80], [80, 80], [192, 80], [48, 80], [96, 81]]) {
      if (name !== '4:2:0' && h === 81) continue;
      // 96x81 needs a sixth MCU row in 4:2:0 (16 rows each): the data ends before it.
      refused(withSize(bytes, w, h), /ends before|goes on past|invalid Huffman|restart marker|needs at least/, `${name} relabelled ${w}x${h}`);
    }
  }
});

test('missing quantisation or Huffman tables are named', { skip: noLibjpeg }, () => {
  const bytes = encode('tables', 40, 24, []);
  refused(withoutSegments(bytes, 0xdb), /not a JPEG: missing quantisation table 0/, 'no DQT');
  refused(withoutSegments(bytes, 0xc4), /not a JPEG: missing Huffman table for DC of component 1/, 'no DHT');
  refused(withoutSegments(bytes, 0xc0), /not a JPEG: no frame header|scan before the frame header/, 'no SOF');
});

test('garbage, unsupported codings and bombs are refused before any large allocation', { skip: noLibjpeg }, () => {
  let s = 12345;
  const noise = Uint8Array.from({ length: 5000 }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 16) & 255);
  refused(new Uint8Array(0), /no start-of-image/, 'empty');
  refused(new Uint8Array(5000), /no start-of-image/, 'zeros');
  refused(noise, /no start-of-image/, 'noise');
  refused(Uint8Array.from([0xff, 0xd8, 0xff, 0xd9]), /no frame header/, 'SOI EOI');
  refused(Uint8Array.from([0xff, 0xd8, ...noise]), CORRUPT, 'SOI then noise');
  refused(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0xff, 0xff]), /runs past the end/, 'segment longer than the file');

  const small = encode('bomb', 64, 64, []);
  // Both messages come from the frame header's checks, before any scan is read.
  refused(withSize(small, 7000, 7000), /needs at least \d+ bytes of image data/, '64x64 relabelled 7000x7000', { maxPixels: 1e8 });
  refused(withSize(small, 7000, 7000), /megapixels, over the limit of 16\.8/, '7000x7000 over the default limit');
  refused(withSize(small, 65535, 65535), /over 65500 pixels a side/, '65535 a side');
  refused(withSize(small, 0, 64), /width 0/, 'width 0');
  refused(withSize(small, 64, 0), /DNL/, 'height 0');
  refused(small, /megapixels, over the limit/, 'maxPixels', { maxPixels: 1000 });
  assert.throws(() => decodeImage(withSize(small, 9000, 9000)), /megapixels, over the limit of/);

  refused(encode('arith', 32, 32, ['-arithmetic']), /arithmetic coding/, 'arithmetic');
  const twelve = small.slice();
  twelve[segmentAt(twelve, 0xc0) + 4] = 12;
  refused(twelve, /12-bit samples/, '12-bit');
  const twoComponents = encode('two', 16, 16, ['-sample', '1x1']);
  const sof = segmentAt(twoComponents, 0xc0);
  const shrunk = twoComponents.slice();
  shrunk[sof + 9] = 2;
  refused(shrunk, /length does not match|2 colour components/, 'two components');
});

test('mutated files: every one is refused with an ImageError or decodes to djpeg\'s pixels', { skip: noLibjpeg }, () => {
  const seeds = [encode('mut-base', 48, 40, ['-sample', '2x1']), encode('mut-prog', 48, 40, ['-progressive']), encode('mut-rst', 48, 40, ['-restart', '1B', '-grayscale'])];
  let s = 99;
  const rand = (n: number) => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % n);
  let accepted = 0;
  let refusedCount = 0;
  for (let i = 0; i < 240; i++) {
    const seed = seeds[i % seeds.length];
    const bytes = seed.slice();
    // Only the entropy-coded data and the tables: the values that drive the decoding loops.
    const from = segmentAt(bytes, 0xdb);
    for (let k = 0, n = 1 + rand(3); k < n; k++) {
      const at = from + rand(bytes.length - from);
      bytes[at] = rand(2) ? rand(256) : bytes[at] ^ (1 << rand(8));
    }
    let got;
    try {
      got = decodeJpeg(bytes);
    } catch (e) {
      assert.ok(e instanceof ImageError, `mutant ${i}: ${(e as Error).constructor.name}: ${(e as Error).message}`);
      refusedCount++;
      continue;
    }
    const px = djpegPixels(bytes);
    assert.ok(px, `mutant ${i}: tsface accepts what djpeg refuses`);
    assert.deepEqual(got.data, px.subarray(px.length - got.data.length), `mutant ${i}: pixels differ from djpeg's`);
    accepted++;
  }
  assert.ok(refusedCount > 0 && accepted > 0, `both outcomes seen (${accepted} accepted, ${refusedCount} refused)`);
});
