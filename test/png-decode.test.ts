// tsface's PNG decoder against PIL (every file) and pngjs (up to 8 bits: pngjs rescales 16-bit
// samples where PIL keeps the high byte or clips), on files neither tsface nor pngjs wrote.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { decodeImage } from '../src/image/decode.ts';
import { pngCorpus, corpusSkip } from './helpers/pngCorpus.ts';

const skip = corpusSkip();

function firstDifference(a: Uint8Array, b: Uint8Array): string {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  const i = a.findIndex((v, k) => v !== b[k]);
  return `byte ${i} (pixel ${Math.floor(i / 3)}): ${a[i]} vs ${b[i]}`;
}

test('PNG decoder gives PIL\'s pixels for every colour type, bit depth and interlace method', { skip }, () => {
  const corpus = pngCorpus();
  const seen = new Set<string>();
  for (const f of corpus) {
    const img = decodeImage(f.bytes, {}, f.name);
    assert.equal(img.width * img.height * 3, f.pil.length, f.name);
    assert.ok(Buffer.from(img.data).equals(f.pil), `${f.name} (type ${f.colorType}, depth ${f.bitDepth}): ${firstDifference(img.data, f.pil)}`);
    seen.add(`${f.colorType}/${f.bitDepth}/${f.interlaced ? 'adam7' : 'plain'}`);
  }
  // The corpus really covers what it claims: every allowed combination, both interlace methods.
  const allowed: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
  for (const [type, depths] of Object.entries(allowed)) {
    for (const d of depths) for (const il of ['plain', 'adam7']) assert.ok(seen.has(`${type}/${d}/${il}`), `corpus lacks colour type ${type}, depth ${d}, ${il}`);
  }
});

test('PNG decoder gives pngjs\'s pixels for 8-bit and smaller samples', { skip }, () => {
  let compared = 0;
  for (const f of pngCorpus()) {
    if (f.bitDepth === 16) continue;
    const ref = PNG.sync.read(Buffer.from(f.bytes));
    const rgb = new Uint8Array(ref.width * ref.height * 3);
    for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) rgb.set(ref.data.subarray(i, i + 3), j);
    const img = decodeImage(f.bytes, {}, f.name);
    assert.ok(Buffer.from(img.data).equals(rgb), `${f.name}: ${firstDifference(img.data, rgb)}`);
    compared++;
  }
  assert.ok(compared >= 30, `only ${compared} files compared`);
});
