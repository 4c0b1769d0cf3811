// Inspection and cross-checking: trace statistics, summaries, pictures, .npy/.npz readers, and
// `crosscheck` passing on the shared references and failing at the right layer on a bad weight.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { buildZip } from '../tools/fuzz/zip.ts';
import { convertOpenFaceCsv } from '../src/convert/openface.ts';
import { trace } from '../src/inspect/trace.ts';
import { loadMtcnn, BUNDLED_MTCNN } from '../src/nets/weights.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { NpyError, readNpy } from '../src/tensor/npy.ts';
import { readNpz } from '../src/tensor/npz.ts';
import { readSafetensors, writeSafetensors } from '../src/tensor/safetensors.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { sharedPath, sharedSkip } from './helpers/shared.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const backend = new CpuBackend();
after(() => backend.dispose());

function tsface(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function npy(descr: string, shape: number[], body: Uint8Array, fortran = false): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  while ((10 + header.length + 1) % 64) header += ' ';
  header += '\n';
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  return out;
}

function zip(entries: [string, Uint8Array, boolean][]): Uint8Array {
  return buildZip(entries.map(([name, data, deflate]) => ({ name, data, deflate }))).bytes;
}

test('.npy: f4, f8 and u1 read; big-endian and Fortran order refused with a clear error; .npz stored and deflated', () => {
  const f4 = new Uint8Array(new Float32Array([1.5, -2, 3, 4]).buffer);
  assert.deepEqual([...readNpy(npy('<f4', [2, 2], f4)).data], [1.5, -2, 3, 4]);
  assert.deepEqual([...readNpy(npy('<f8', [2], new Uint8Array(new Float64Array([0.25, 7]).buffer))).data], [0.25, 7]);
  assert.deepEqual([...readNpy(npy('|u1', [3], new Uint8Array([0, 128, 255]))).data], [0, 128, 255]);
  assert.throws(() => readNpy(npy('>f4', [4], f4)), (e: unknown) => e instanceof NpyError && /big-endian/.test((e as Error).message));
  assert.throws(() => readNpy(npy('<f4', [2, 2], f4, true)), (e: unknown) => e instanceof NpyError && /Fortran/.test((e as Error).message));
  assert.throws(() => readNpy(npy('<i8', [1], new Uint8Array(8))), NpyError);
  assert.throws(() => readNpy(npy('<f4', [8], f4)), /truncated/);
  assert.throws(() => readNpy(new Uint8Array(20)), /magic/);
  const z = readNpz(zip([['a.npy', npy('<f4', [4], f4), false], ['b.npy', npy('<f4', [2, 2], f4), true]]));
  assert.deepEqual([...z.keys()], ['a', 'b']);
  assert.deepEqual([...z.get('b')!.shape], [2, 2]);
  assert.deepEqual([...z.get('b')!.data], [1.5, -2, 3, 4]);
  assert.throws(() => readNpz(new Uint8Array(100)), /not a zip/);
});

test('summary --json of every net, in the documented shape; nn2 by block reproduces the paper totals', () => {
  for (const net of ['pnet', 'rnet', 'onet', 'nn2', 'nn4.small2.v1', 'mobilefacenet']) {
    const r = tsface('summary', net, '--json');
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(s), ['net', 'input', 'layers', 'total']);
    assert.deepEqual(Object.keys(s.layers[0]), ['name', 'op', 'output', 'params', 'macs']);
    assert.equal(s.total.macs, s.layers.reduce((a: number, l: { macs: number }) => a + l.macs, 0));
  }
  const nn2 = JSON.parse(tsface('summary', 'nn2', '--json').stdout);
  assert.deepEqual(nn2.layers.find((l: { name: string }) => l.name === 'inception_4e').output, [1024, 7, 7]);
  assert.equal(JSON.parse(tsface('summary', 'nn4.small2.v1', '--json').stdout).total.macs, 200_118_272);
  assert.equal(JSON.parse(tsface('summary', 'mobilefacenet', '--json').stdout).total.params, 1_292_992);
  assert.match(tsface('summary', 'pnet').stdout, /conv4_1/);
});

test('trace statistics equal those recorded with the reference dumps', { skip: sharedSkip('reference/mtcnn/layers/') }, async () => {
  const index = JSON.parse(readFileSync(sharedPath('reference/mtcnn/layers/index.json'), 'utf8'));
  const { onet } = loadMtcnn();
  const input = readNpy(readFileSync(sharedPath(`reference/mtcnn/layers/${index.nets.onet.input.file}`)));
  const entries = await trace(onet, input, backend);
  for (const layer of index.nets.onet.layers) {
    const e = entries.find((x) => x.name === layer.name);
    if (layer.name === 'flatten') continue;
    assert.ok(e, layer.name);
    assert.ok(Math.abs(e.min - layer.min) <= 1e-5 * Math.max(1, Math.abs(layer.min)), `${layer.name} min ${e.min} vs ${layer.min}`);
    assert.ok(Math.abs(e.max - layer.max) <= 1e-5 * Math.max(1, Math.abs(layer.max)), `${layer.name} max`);
    assert.ok(e.std >= 0 && e.zeros >= 0 && e.zeros <= 1);
  }
});

test('inspect writes feature maps, heat maps and cascade pictures that decode at the expected sizes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-inspect-'));
  const r = tsface('inspect', 'pnet', '--image', 'examples/astronaut.jpg', '--out', dir, '--json');
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.deepEqual(s.input, [3, 308, 308]);
  assert.deepEqual(Object.keys(s.layers[0]), ['name', 'op', 'shape', 'min', 'max', 'mean', 'std', 'zeros']);
  const files = readdirSync(dir);
  for (const f of ['cascade_pnet.png', 'cascade_pnetNms.png', 'cascade_rnet.png', 'cascade_onet.png', 'conv1.png', 'softmax4_1.png']) assert.ok(files.includes(f), f);
  assert.ok(files.filter((f) => f.startsWith('pnet_heatmap_scale')).length >= 5);
  const photo = PNG.sync.read(readFileSync(join(dir, 'cascade_onet.png')));
  assert.deepEqual([photo.width, photo.height], [512, 512]);
  // conv1: 10 channels of 306x306 in a 4x3 grid with 2-pixel gaps and a 12-pixel colour bar.
  const grid = PNG.sync.read(readFileSync(join(dir, 'conv1.png')));
  assert.deepEqual([grid.width, grid.height], [4 * 308 + 2, 3 * 308 + 2 + 12 + 2]);
  const one = tsface('inspect', 'onet', '--image', 'examples/astronaut.jpg', '--layer', 'conv4');
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /conv4 +conv2d +128x3x3/);
  const face = tsface('inspect', 'mobilefacenet', '--image', 'examples/astronaut.jpg', '--layer', 'head/embedding', '--out', dir);
  assert.equal(face.code, 0, face.stderr);
  assert.deepEqual([PNG.sync.read(readFileSync(join(dir, 'aligned_input.png'))).width], [112]);
});

test('crosscheck passes on the shared MTCNN and OpenFace dumps and finds a transposed kernel', { skip: sharedSkip('reference/mtcnn/layers/') || sharedSkip('reference/nn4small2/layers/') }, () => {
  for (const net of ['pnet', 'rnet', 'onet']) {
    const r = tsface('crosscheck', net, '--reference', sharedPath('reference/mtcnn/layers'), '--json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(JSON.parse(r.stdout).ok, true);
  }
  // A deliberately wrong weight: R-Net's conv2 kernel transposed (kx and ky swapped).
  const dir = mkdtempSync(join(tmpdir(), 'tsface-cc-'));
  const { tensors, metadata } = readSafetensors(readFileSync(BUNDLED_MTCNN));
  const w = tensors.get('rnet.conv2.weight')!;
  const [o, i, kh, kw] = w.shape;
  const t = new Tensor(w.shape);
  for (let a = 0; a < o * i; a++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) t.data[(a * kh + y) * kw + x] = w.data[(a * kh + x) * kw + y];
  tensors.set('rnet.conv2.weight', t);
  writeFileSync(join(dir, 'bad.safetensors'), writeSafetensors(tensors, metadata));
  const bad = tsface('crosscheck', 'rnet', '--reference', sharedPath('reference/mtcnn/layers'), '--weights', join(dir, 'bad.safetensors'), '--json');
  assert.equal(bad.code, 1);
  const report = JSON.parse(bad.stdout);
  assert.equal(report.firstDivergent, 'conv2');
  assert.equal(report.layers[0].ok, true);
  assert.match(tsface('crosscheck', 'rnet', '--reference', sharedPath('reference/mtcnn/layers'), '--weights', join(dir, 'bad.safetensors')).stdout, /first divergent layer: conv2/);
  // OpenFace: the shared dump's names map onto tsface's (conv2_bn_relu -> relu2 ...).
  const conv = convertOpenFaceCsv(sharedPath('models/openface-nn4.small2.v1/csv'), { standInSeed: 1000 });
  writeFileSync(join(dir, 'nn4.safetensors'), writeSafetensors(conv.tensors, conv.metadata));
  const of = tsface('crosscheck', 'nn4.small2.v1', '--reference', sharedPath('reference/nn4small2/layers'), '--weights', join(dir, 'nn4.safetensors'), '--json');
  assert.equal(of.code, 0, of.stdout + of.stderr);
  assert.equal(JSON.parse(of.stdout).layers.length, 11);
  // NHWC safetensors references are transposed back before comparing.
  const refs = new Map<string, Tensor>();
  const input = readNpy(readFileSync(sharedPath('reference/mtcnn/layers/pnet_input.npy')));
  const nhwc = (x: Tensor) => { const [n, c, h, ww] = x.shape; const y = new Tensor([n, h, ww, c]); for (let k = 0; k < c; k++) for (let yy = 0; yy < h; yy++) for (let xx = 0; xx < ww; xx++) y.data[(yy * ww + xx) * c + k] = x.data[(k * h + yy) * ww + xx]; return y; };
  refs.set('input', nhwc(input));
  refs.set('conv1', nhwc(readNpy(readFileSync(sharedPath('reference/mtcnn/layers/pnet_00_conv1.npy')))));
  writeFileSync(join(dir, 'pnet_nhwc.safetensors'), writeSafetensors(refs));
  const n = tsface('crosscheck', 'pnet', '--reference', join(dir, 'pnet_nhwc.safetensors'), '--layout', 'nhwc', '--json');
  assert.equal(n.code, 0, n.stdout + n.stderr);
});
