// Bicubic resizing against PIL's own, byte for byte: up (LFW's 150 -> 250 protocol), down, one axis,
// odd sizes, on random pixels (every rounding and clamp path) made here and handed to PIL.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { resizeBicubic } from '../src/image/resize.ts';

const PYTHON = '/usr/bin/python3';
const noPil = spawnSync(PYTHON, ['-c', 'import PIL'], { stdio: 'ignore' }).status === 0 ? false : 'PIL at /usr/bin/python3 is unavailable';
if (noPil) console.warn(`\n!!! ${noPil}: SKIPPING the bicubic comparison !!!\n`);

function pilResize(width: number, height: number, data: Uint8Array, w: number, h: number): Uint8Array {
  const script = `import sys\nfrom PIL import Image\nd = sys.stdin.buffer.read()\nim = Image.frombytes('RGB', (${width}, ${height}), d)\nsys.stdout.buffer.write(im.resize((${w}, ${h}), Image.BICUBIC).tobytes())`;
  const r = spawnSync(PYTHON, ['-c', script], { input: data, maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, String(r.stderr));
  return new Uint8Array(r.stdout);
}

test("bicubic resize equals PIL's Image.BICUBIC byte for byte", { skip: noPil }, () => {
  let seed = 7;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) >>> 24);
  for (const [w0, h0, w1, h1] of [[150, 150, 250, 250], [97, 61, 250, 160], [250, 250, 150, 150], [64, 40, 17, 33], [33, 20, 33, 57], [1, 1, 5, 3], [120, 90, 120, 90]]) {
    const data = Uint8Array.from({ length: w0 * h0 * 3 }, rand);
    const got = resizeBicubic({ width: w0, height: h0, data }, w1, h1);
    const want = pilResize(w0, h0, data, w1, h1);
    const bad = got.data.findIndex((v, i) => v !== want[i]);
    assert.equal(bad, -1, `${w0}x${h0} -> ${w1}x${h1}: first difference at ${bad} (${got.data[bad]} vs ${want[bad]})`);
  }
});
