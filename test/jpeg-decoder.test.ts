// tsface's JPEG decoder against libjpeg-turbo: a corpus made in this run by cjpeg and ImageMagick
// (every sampling factor, progressive, restart intervals, multi-scan, odd sizes, grayscale, RGB,
// CMYK/YCCK), each file compared byte for byte with `djpeg -ppm` (PIL for CMYK, which converts
// to RGB its own way), and the shared photos compared with PIL's pixels through committed hashes.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { decodeImage } from '../src/image/decode.ts';
import { decodeJpeg } from '../src/image/jpeg/index.ts';
import { sharedPath, sharedSkip } from './helpers/shared.ts';

const PYTHON = '/usr/bin/python3';
const has = (cmd: string, arg: string) => spawnSync(cmd, [arg], { stdio: 'ignore' }).error === undefined;
function skipUnless(ok: boolean, what: string): string | false {
  if (ok) return false;
  const msg = `${what} is not installed: SKIPPING the tests that need it (CI installs it)`;
  console.warn(`\n!!! ${msg} !!!\n`);
  return msg;
}
const noLibjpeg = skipUnless(has('cjpeg', '-version') && has('djpeg', '-version'), 'libjpeg-turbo-progs (cjpeg/djpeg)');
const noMagick = skipUnless(has('convert', '-version'), 'ImageMagick (convert)');
const noPil = skipUnless(spawnSync(PYTHON, ['-c', 'import PIL'], { stdio: 'ignore' }).status === 0, 'PIL for /usr/bin/python3');

const dir = mkdtempSync(join(tmpdir(), 'tsface-jpeg-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A picture with what JPEG finds hard: smooth ramps, hard edges, fine noise and saturated colour. */
function sourcePpm(width: number, height: number, seed: number): Uint8Array {
  const header = new TextEncoder().encode(`P6\n${width} ${height}\n255\n`);
  const out = new Uint8Array(header.length + width * height * 3);
  out.set(header);
  let s = seed >>> 0;
  for (let y = 0, o = header.length; y < height; y++) {
    for (let x = 0; x < width; x++, o += 3) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const noise = (s >>> 24) % 48;
      const ring = ((x - width / 3) ** 2 + (y - height / 2) ** 2) < (Math.min(width, height) / 3) ** 2;
      out[o] = ring ? 250 : (x * 255) / Math.max(1, width - 1);
      out[o + 1] = Math.min(255, ((y * 255) / Math.max(1, height - 1)) * 0.8 + noise);
      out[o + 2] = (x + y) % 16 < 8 ? 20 + noise : 230 - noise;
    }
  }
  return out;
}

/** Pixels of a binary PPM (P6) or PGM (P5), gray widened to RGB. */
function readPnm(bytes: Uint8Array): { width: number; height: number; data: Uint8Array } {
  const fields: string[] = [];
  let at = 0;
  while (fields.length < 4) {
    while (/\s/.test(String.fromCharCode(bytes[at]))) at++;
    let field = '';
    while (!/\s/.test(String.fromCharCode(bytes[at]))) field += String.fromCharCode(bytes[at++]);
    fields.push(field);
  }
  const [magic, w, h] = fields;
  const width = Number(w);
  const height = Number(h);
  const pixels = bytes.subarray(at + 1, at + 1 + width * height * (magic === 'P5' ? 1 : 3));
  if (magic === 'P6') return { width, height, data: pixels };
  return { width, height, data: Uint8Array.from({ length: width * height * 3 }, (_, i) => pixels[Math.floor(i / 3)]) };
}

const djpeg = (file: string) => readPnm(execFileSync('djpeg', ['-ppm', file], { maxBuffer: 1 << 28 }));

/** Index of the first differing byte, -1 when equal (assert.deepEqual on megabytes is slow and unreadable). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function assertSamePixels(file: string, got: { width: number; height: number; data: Uint8Array }, want: { width: number; height: number; data: Uint8Array }, label: string): void {
  assert.deepEqual([got.width, got.height], [want.width, want.height], `${label}: size`);
  const at = firstDifference(got.data, want.data);
  if (at >= 0) {
    const p = Math.floor(at / 3);
    assert.fail(`${label} (${file}): pixel (${p % want.width}, ${Math.floor(p / want.width)}) channel ${at % 3} is ${got.data[at]}, reference ${want.data[at]}`);
  }
}

/** sha256 of PIL's convert('RGB') pixels (optionally after exif_transpose) for each file, in one Python run. */
function pilHashes(files: string[], upright = false): { width: number; height: number; sha256: string }[] {
  const script = [
    'import sys, json, hashlib',
    'from PIL import Image, ImageOps',
    'out = []',
    'for p in sys.argv[2:]:',
    '    im = Image.open(p)',
    "    im = (ImageOps.exif_transpose(im) if sys.argv[1] == '1' else im).convert('RGB')",
    "    out.append({'width': im.width, 'height': im.height, 'sha256': hashlib.sha256(im.tobytes()).hexdigest()})",
    'print(json.dumps(out))',
  ].join('\n');
  return JSON.parse(execFileSync(PYTHON, ['-c', script, upright ? '1' : '0', ...files], { maxBuffer: 1 << 26 }).toString());
}
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

const SIZES: [number, number][] = [[1, 1], [2, 3], [17, 13], [33, 65], [127, 93], [260, 131]];
const CJPEG_VARIANTS: [string, string[]][] = [
  ['4:4:4', ['-sample', '1x1']],
  ['4:2:2', ['-sample', '2x1']],
  ['4:2:0', ['-sample', '2x2']],
  ['4:4:0', ['-sample', '1x2']],
  ['4:1:1', ['-sample', '4x1']],
  ['1x4', ['-sample', '1x4']],
  ['4x2', ['-sample', '4x2']],
  ['3x2 (whole ratios, replicated)', ['-sample', '3x2']],
  ['mixed 2x1,1x2,1x1', ['-sample', '2x1,1x2,1x1']],
  ['chroma finer than luma', ['-sample', '1x1,2x2,1x2']],
  ['progressive 4:2:0', ['-progressive']],
  ['progressive 4:4:4', ['-progressive', '-sample', '1x1']],
  ['progressive 4:2:2 with restarts', ['-progressive', '-sample', '2x1', '-restart', '2B']],
  ['progressive grayscale', ['-progressive', '-grayscale']],
  ['restart every MCU row', ['-restart', '1']],
  ['restart every 3 MCUs', ['-restart', '3B']],
  ['restart every block, 4:4:4', ['-restart', '1B', '-sample', '1x1']],
  ['grayscale', ['-grayscale']],
  ['grayscale declared 2x2', ['-grayscale', '-sample', '2x2']],
  ['RGB colour space', ['-rgb']],
  ['quality 100', ['-quality', '100', '-sample', '1x1']],
  ['quality 5', ['-quality', '5']],
  ['optimised Huffman tables', ['-optimize', '-sample', '2x1']],
];

test('cjpeg corpus: every sampling factor, progressive, restarts, odd sizes, grayscale and RGB decode to djpeg\'s pixels', { skip: noLibjpeg }, () => {
  // One component per scan (non-interleaved sequential) and a progressive script with
  // several refinement passes, written as cjpeg scan scripts.
  writeFileSync(join(dir, 'per-component.scans'), '0;\n1;\n2;\n');
  writeFileSync(join(dir, 'refine.scans'), '0,1,2: 0 0 0 2;\n0: 1 5 0 2;\n2: 1 63 0 1;\n1: 1 63 0 1;\n0: 6 63 0 2;\n0,1,2: 0 0 2 1;\n0: 1 63 2 1;\n0,1,2: 0 0 1 0;\n2: 1 63 1 0;\n1: 1 63 1 0;\n0: 1 63 1 0;\n');
  writeFileSync(join(dir, 'dc-per-component.scans'), '0: 0 0 0 0;\n1: 0 0 0 1;\n2: 0 0 0 0;\n1: 0 0 1 0;\n0: 1 63 0 0;\n2: 1 63 0 0;\n1: 1 63 0 0;\n');
  const variants: [string, string[]][] = [
    ...CJPEG_VARIANTS,
    ['progressive, one DC scan per component', ['-sample', '2x2', '-scans', join(dir, 'dc-per-component.scans')]],
    ['one scan per component', ['-sample', '2x2', '-scans', join(dir, 'per-component.scans')]],
    ['progressive, custom refinement script', ['-sample', '2x1', '-scans', join(dir, 'refine.scans')]],
  ];
  let checked = 0;
  for (const [w, h] of SIZES) {
    const ppm = join(dir, `src-${w}x${h}.ppm`);
    writeFileSync(ppm, sourcePpm(w, h, w * 1000 + h));
    variants.forEach(([name, args], i) => {
      const file = join(dir, `c-${w}x${h}-${i}.jpg`);
      // stderr piped: cjpeg's caution about quality 5 tables is expected, not news.
      execFileSync('cjpeg', [...args, '-outfile', file, ppm], { stdio: 'pipe' });
      const got = decodeJpeg(new Uint8Array(readFileSync(file)));
      assertSamePixels(file, got, djpeg(file), `${name} ${w}x${h}`);
      checked++;
    });
  }
  assert.equal(checked, SIZES.length * variants.length);
});

test('ImageMagick 4:4:0 and grayscale files decode to djpeg\'s pixels', { skip: noLibjpeg || noMagick }, () => {
  for (const [w, h] of [[31, 47], [130, 66]] as [number, number][]) {
    const ppm = join(dir, `im-${w}x${h}.ppm`);
    writeFileSync(ppm, sourcePpm(w, h, 7));
    for (const [name, args] of [['4:4:0', ['-sampling-factor', '1x2']], ['gray', ['-colorspace', 'Gray']], ['4:2:0 q40', ['-sampling-factor', '2x2', '-quality', '40']]] as [string, string[]][]) {
      const file = join(dir, `im-${w}x${h}-${name.replace(/\W/g, '')}.jpg`);
      execFileSync('convert', [ppm, ...args, file]);
      assertSamePixels(file, decodeJpeg(new Uint8Array(readFileSync(file))), djpeg(file), `ImageMagick ${name} ${w}x${h}`);
    }
  }
});

test('CMYK and YCCK files become RGB exactly as PIL converts them', { skip: noMagick || noPil }, () => {
  const files: string[] = [];
  for (const [w, h] of [[1, 1], [23, 17], [97, 61]] as [number, number][]) {
    const ppm = join(dir, `cmyk-${w}x${h}.ppm`);
    writeFileSync(ppm, sourcePpm(w, h, 3));
    // ImageMagick builds seen so far write CMYK through libjpeg's YCCK transform (Adobe transform 2).
    const ycck = join(dir, `ycck-${w}x${h}.jpg`);
    execFileSync('convert', [ppm, '-colorspace', 'CMYK', ycck]);
    const written = readFileSync(ycck);
    const adobe = written.indexOf(Buffer.from('Adobe'));
    if (adobe < 0 || written[adobe + 11] !== 2) console.warn(`!!! ${ycck}: ImageMagick did not write YCCK; the YCCK path goes untested here !!!`);
    // PIL writes plain CMYK (Adobe transform 0).
    const cmyk = join(dir, `cmyk-${w}x${h}.jpg`);
    execFileSync(PYTHON, ['-c', "import sys\nfrom PIL import Image\nImage.open(sys.argv[1]).convert('CMYK').save(sys.argv[2], quality=90)", ppm, cmyk]);
    // The same without its Adobe segment: libjpeg still reads CMYK, PIL still inverts.
    const bytes = readFileSync(cmyk);
    const app14 = bytes.indexOf(Buffer.from([0xff, 0xee]));
    assert.ok(app14 > 0, 'PIL wrote an Adobe segment');
    const bare = join(dir, `bare-${w}x${h}.jpg`);
    writeFileSync(bare, Buffer.concat([bytes.subarray(0, app14), bytes.subarray(app14 + 2 + bytes.readUInt16BE(app14 + 2))]));
    files.push(ycck, cmyk, bare);
  }
  const refs = pilHashes(files);
  files.forEach((file, i) => {
    const got = decodeJpeg(new Uint8Array(readFileSync(file)));
    assert.deepEqual([got.width, got.height], [refs[i].width, refs[i].height], file);
    assert.equal(sha256(got.data), refs[i].sha256, `${file}: pixels differ from PIL's`);
  });
});

test('EXIF orientation 1..8 is applied as PIL\'s ImageOps.exif_transpose applies it', { skip: noPil }, () => {
  const ppm = join(dir, 'exif.ppm');
  writeFileSync(ppm, sourcePpm(19, 11, 5));
  const files: string[] = [];
  for (let orientation = 1; orientation <= 8; orientation++) {
    const file = join(dir, `exif-${orientation}.jpg`);
    execFileSync(PYTHON, ['-c', "import sys\nfrom PIL import Image\nim = Image.open(sys.argv[1])\nexif = Image.Exif()\nexif[0x0112] = int(sys.argv[3])\nim.save(sys.argv[2], exif=exif.tobytes(), quality=92)", ppm, file, String(orientation)]);
    files.push(file);
  }
  const refs = pilHashes(files, true);
  files.forEach((file, i) => {
    const got = decodeImage(new Uint8Array(readFileSync(file)));
    assert.deepEqual([got.width, got.height], [refs[i].width, refs[i].height], `orientation ${i + 1}: size`);
    assert.equal(sha256(got.data), refs[i].sha256, `orientation ${i + 1}: pixels differ from PIL's exif_transpose`);
  });
});

test('jpeg-js stays selectable and differs from libjpeg-turbo where its upsampling does', { skip: noLibjpeg }, () => {
  const ppm = join(dir, 'jpegjs.ppm');
  writeFileSync(ppm, sourcePpm(64, 48, 9));
  const file = join(dir, 'jpegjs.jpg');
  execFileSync('cjpeg', ['-sample', '2x2', '-outfile', file, ppm]);
  const bytes = new Uint8Array(readFileSync(file));
  const ours = decodeImage(bytes);
  const theirs = decodeImage(bytes, { decoder: 'jpeg-js' });
  assertSamePixels(file, ours, djpeg(file), 'default decoder');
  assert.deepEqual([theirs.width, theirs.height], [64, 48]);
  assert.ok(firstDifference(ours.data, theirs.data) >= 0, 'jpeg-js box-filters chroma, so its pixels differ');
  assert.throws(() => decodeImage(bytes, { decoder: 'libjpeg' as 'tsface' }), /unknown JPEG decoder/);
});

const SHARED_HASHES = 'test/fixtures/pil_pixels_sha256.json';
test('every shared photo decodes to PIL\'s pixels (hashes from tools/reference/pil_pixels.py)', { skip: sharedSkip('images/') }, () => {
  const { images } = JSON.parse(readFileSync(SHARED_HASHES, 'utf8')) as { images: Record<string, { width: number; height: number; sha256: string; upright: { width: number; height: number; sha256: string } }> };
  const names = Object.keys(images);
  assert.ok(names.length >= 20, 'the hash list covers the shared photos');
  for (const name of names) {
    const bytes = new Uint8Array(readFileSync(sharedPath(`images/${name}`)));
    const raw = decodeJpeg(bytes);
    assert.deepEqual([raw.width, raw.height], [images[name].width, images[name].height], name);
    assert.equal(sha256(raw.data), images[name].sha256, `${name}: pixels differ from PIL's`);
    const upright = decodeImage(bytes);
    assert.equal(sha256(upright.data), images[name].upright.sha256, `${name}: upright pixels differ from PIL's exif_transpose`);
  }
});

test('colour space is guessed as libjpeg guesses it: JFIF over Adobe, then Adobe, then component ids', { skip: noLibjpeg }, () => {
  const ppm = join(dir, 'space.ppm');
  writeFileSync(ppm, sourcePpm(40, 24, 11));
  const rgb = join(dir, 'space-rgb.jpg');
  execFileSync('cjpeg', ['-rgb', '-outfile', rgb, ppm]);
  const bytes = readFileSync(rgb);
  assert.equal(bytes.subarray(6, 11).toString('latin1'), 'Adobe', 'cjpeg -rgb starts with an Adobe segment');
  const adobeEnd = 4 + bytes.readUInt16BE(4);
  const jfif = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
  const variants: [string, Buffer][] = [
    ['Adobe transform 0: RGB', bytes],
    ['JFIF and Adobe: JFIF means YCbCr', Buffer.concat([bytes.subarray(0, 2), jfif, bytes.subarray(2)])],
    ['no marker, ids R G B: RGB', Buffer.concat([bytes.subarray(0, 2), bytes.subarray(adobeEnd)])],
  ];
  for (const [name, data] of variants) {
    const file = join(dir, `space-${name.replace(/\W/g, '')}.jpg`);
    writeFileSync(file, data);
    assertSamePixels(file, decodeJpeg(new Uint8Array(data)), djpeg(file), name);
  }
});

test('a sequential scan of every component is converted as its MCU rows complete: the same bytes as whole planes give, and as djpeg', { skip: noLibjpeg }, () => {
  // The same coefficients coded twice: one interleaved scan (RGB written a row of MCUs at a
  // time from planes of two MCU rows) and one scan per component (whole planes, converted at
  // the end). Tall enough that the two-row planes wrap many times; odd sizes leave partial MCUs.
  writeFileSync(join(dir, 'split.scans'), '0;\n1;\n2;\n');
  const [w, h] = [301, 517];
  const ppm = join(dir, `rows-${w}x${h}.ppm`);
  writeFileSync(ppm, sourcePpm(w, h, 5));
  for (const sample of ['2x2', '2x1', '1x2', '1x4', '4x2', '3x2', '2x1,1x2,1x1', '1x1,2x2,1x2']) {
    for (const restart of [[], ['-restart', '3B']]) {
      const interleaved = join(dir, `rows-${sample}-${restart.length}.jpg`);
      const split = join(dir, `rows-${sample}-${restart.length}-split.jpg`);
      execFileSync('cjpeg', ['-sample', sample, ...restart, '-outfile', interleaved, ppm], { stdio: 'pipe' });
      execFileSync('cjpeg', ['-sample', sample, ...restart, '-scans', join(dir, 'split.scans'), '-outfile', split, ppm], { stdio: 'pipe' });
      const rows = decodeJpeg(new Uint8Array(readFileSync(interleaved)));
      const whole = decodeJpeg(new Uint8Array(readFileSync(split)));
      assertSamePixels(interleaved, rows, whole, `${sample} one scan vs one scan per component`);
      assertSamePixels(interleaved, rows, djpeg(interleaved), `${sample} one scan vs djpeg`);
    }
  }
});
