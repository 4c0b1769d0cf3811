// The WebAssembly SIMD kernels of the JPEG decoder against the scalar code they replace: the
// IDCT (samples and the out-of-range verdict) and YCbCr -> RGB. The decoder's own tests compare
// whole files with libjpeg-turbo; these reach the corners files rarely do.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { decodeJpeg } from '../src/image/jpeg/index.ts';
import { allowJpegSimd } from '../src/image/jpeg/simdSwitch.ts';
import { idctBlock } from '../src/image/jpeg/idct.ts';
import { idctRowSimd, idctSimdAvailable } from '../src/image/jpeg/idctSimd.ts';
import { yccRowSimd } from '../src/image/jpeg/yccSimd.ts';
import { CB_B, CB_G, CR_G, CR_R, LIMIT } from '../src/image/jpeg/yccTables.ts';

const noSimd = idctSimdAvailable() ? false : 'this engine has no WebAssembly SIMD';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
}

test('SIMD IDCT gives idctBlock\'s samples and verdict on rows of random blocks, in range or far out', { skip: noSimd }, () => {
  const rnd = lcg(7);
  const blocks = 13;
  const stride = blocks * 8 + 8;
  let accepted = 0;
  let refused = 0;
  for (let t = 0; t < 3000; t++) {
    const coefs = new Int16Array(blocks * 64);
    const quant = new Int32Array(64);
    const qmax = [2, 16, 100, 255, 65535][Math.floor(rnd() * 5)];
    for (let i = 0; i < 64; i++) quant[i] = 1 + Math.floor(rnd() * qmax);
    const scale = [1, 8, 64, 512, 4096, 32768][Math.floor(rnd() * 6)];
    const density = rnd();
    const dcOnly = rnd() < 0.3;
    for (let i = 0; i < coefs.length; i++) {
      if ((i % 64 === 0 || !dcOnly) && rnd() < density) coefs[i] = Math.floor((rnd() * 2 - 1) * scale);
    }
    const scalar = new Uint8Array(stride * 8);
    const simd = new Uint8Array(stride * 8);
    let ok = true;
    for (let b = 0; b < blocks; b++) ok = idctBlock(coefs, b * 64, quant, scalar, b * 8, stride) && ok;
    assert.equal(idctRowSimd(coefs, 0, blocks, quant, simd, 0, stride), ok, `verdict, case ${t}`);
    if (!ok) { refused++; continue; }
    accepted++;
    for (let y = 0; y < 8; y++) {
      assert.deepEqual(simd.subarray(y * stride, y * stride + blocks * 8), scalar.subarray(y * stride, y * stride + blocks * 8), `samples, case ${t} row ${y}`);
    }
  }
  assert.ok(accepted > 500 && refused > 500, `both verdicts exercised (${accepted} accepted, ${refused} refused)`);
});

test('SIMD IDCT agrees with idctBlock at the edges of the range checks (DC across all of int16)', { skip: noSimd }, () => {
  const quant = new Int32Array(64).fill(1);
  const coefs = new Int16Array(64);
  const scalar = new Uint8Array(64);
  const simd = new Uint8Array(64);
  for (const q of [1, 3]) {
    quant[0] = q;
    for (const ac of [0, 9]) {
      for (let dc = -32768; dc < 32768; dc++) {
        coefs.fill(0);
        coefs[0] = dc;
        if (ac) coefs[ac] = dc >> 3;
        const ok = idctBlock(coefs, 0, quant, scalar, 0, 8);
        assert.equal(idctRowSimd(coefs, 0, 1, quant, simd, 0, 8), ok, `verdict, dc ${dc} q ${q} ac ${ac}`);
        if (ok) assert.deepEqual(simd, scalar, `samples, dc ${dc} q ${q} ac ${ac}`);
      }
    }
  }
});

test('SIMD YCbCr -> RGB matches libjpeg\'s tables for every Cb, Cr pair at a spread of Y', { skip: noSimd }, () => {
  const n = 256 * 256;
  const y = new Uint8Array(n);
  const cb = new Uint8Array(n);
  const cr = new Uint8Array(n);
  const out = new Uint8Array(3 * n);
  for (const luma of [0, 1, 17, 64, 128, 200, 254, 255]) {
    for (let i = 0; i < n; i++) { y[i] = luma; cb[i] = i >> 8; cr[i] = i & 255; }
    assert.equal(yccRowSimd(y, 0, cb, 0, cr, 0, n, out, 0), n);
    const yy = luma + 256;
    for (let i = 0; i < n; i++) {
      const b = cb[i], r = cr[i];
      const want = [LIMIT[yy + CR_R[r]], LIMIT[yy + ((CB_G[b] + CR_G[r]) >> 16)], LIMIT[yy + CB_B[b]]];
      if (out[3 * i] !== want[0] || out[3 * i + 1] !== want[1] || out[3 * i + 2] !== want[2]) {
        assert.fail(`Y ${luma} Cb ${b} Cr ${r}: got ${out.subarray(3 * i, 3 * i + 3).join(',')}, want ${want.join(',')}`);
      }
    }
  }
});

const noCjpeg = spawnSync('cjpeg', ['-version'], { stdio: 'ignore' }).error === undefined ? false : 'cjpeg is not installed';

/** Pixels, or the error's class and message. */
function outcome(bytes: Uint8Array): string | Uint8Array {
  try {
    return decodeJpeg(bytes).data;
  } catch (e) {
    return `${(e as Error).constructor.name}: ${(e as Error).message}`;
  }
}

test('with and without the SIMD kernels, files and mutants of them decode to the same pixels or fail with the same error', { skip: noSimd || noCjpeg }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-jpeg-simd-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const width = 77, height = 45;
  const rnd = lcg(3);
  const ppm = new Uint8Array(width * height * 3).map((_, i) => ((i * 37) % 251) ^ Math.floor(rnd() * 24));
  writeFileSync(join(dir, 'src.ppm'), Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`), ppm]));
  const seeds = [['-sample', '2x2'], ['-sample', '1x1', '-restart', '1B'], ['-sample', '2x1', '-quality', '100'], ['-progressive'], ['-grayscale']].map((args, i) => {
    const file = join(dir, `seed${i}.jpg`);
    execFileSync('cjpeg', [...args, '-outfile', file, join(dir, 'src.ppm')]);
    return new Uint8Array(readFileSync(file));
  });
  const errors = new Map<string, number>();
  try {
    for (let i = 0; i < 600; i++) {
      const bytes = seeds[i % seeds.length].slice();
      // Past the headers (the first 600 bytes hold them here), where blocks go out of range.
      if (i >= seeds.length) {
        for (let k = 0, n = 1 + Math.floor(rnd() * 4); k < n; k++) {
          const at = 600 + Math.floor(rnd() * (bytes.length - 600));
          bytes[at] = rnd() < 0.5 ? Math.floor(rnd() * 256) : bytes[at] ^ (1 << Math.floor(rnd() * 8));
        }
      }
      allowJpegSimd(true);
      const simd = outcome(bytes);
      allowJpegSimd(false);
      const scalar = outcome(bytes);
      if (typeof scalar === 'string') errors.set(scalar.slice(0, 60), (errors.get(scalar.slice(0, 60)) ?? 0) + 1);
      assert.deepEqual(simd, scalar, `case ${i}`);
    }
  } finally {
    allowJpegSimd(true);
  }
  assert.ok([...errors.keys()].some((m) => m.includes('coefficients of component')), `out-of-range blocks exercised: ${[...errors.keys()].join(' | ')}`);
});
