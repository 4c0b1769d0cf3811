// OpenFace nn4.small2.v1 with the real weights from ../shared (CSV dump), against the reference
// activations in ../shared/reference/nn4small2: every layer through inception_3b for camera_0,
// inception_3b for every coursera image.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { convertOpenFaceCsv } from '../src/convert/openface.ts';
import { nn4FromTensors } from '../src/nets/weights.ts';
import { toRgbImage } from '../src/image/decode.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { WeightsError } from '../src/errors.ts';
import { readNpy } from '../src/tensor/npy.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { assertClose } from './helpers/compare.ts';
import { sharedPath, sharedSkip } from './helpers/shared.ts';

const CSV = 'models/openface-nn4.small2.v1/csv/';
const REF = 'reference/nn4small2/';
const skip = sharedSkip(CSV) || sharedSkip(REF);

/** tsface trace names of the reference's dumped layers. */
export const OPENFACE_LAYER_NAMES: Record<string, string> = {
  conv1: 'conv1', bn1: 'bn1', relu1: 'relu1', pool1: 'pool1', lrn1: 'lrn1', conv2_bn_relu: 'relu2', conv3_bn_relu: 'relu3',
  lrn2: 'lrn2', pool2: 'pool2', inception_3a: 'inception_3a', inception_3b: 'inception_3b',
};

describe('nn4.small2.v1 with the real OpenFace weights (../shared)', { skip }, () => {
  const backend = new CpuBackend();
  after(() => backend.dispose());
  const conv = skip ? null : convertOpenFaceCsv(sharedPath(CSV), { standInSeed: 1000 });

  test('a file with stand-ins is refused as OpenFace', () => {
    assert.throws(() => nn4FromTensors(conv!.tensors, conv!.metadata, 'x.safetensors'), (e: unknown) => e instanceof WeightsError && /not OpenFace/.test((e as Error).message));
  });

  test('every layer through inception_3b equals the reference (camera_0, 1e-5 relative)', async () => {
    const net = nn4FromTensors(conv!.tensors, conv!.metadata, 'shared csv', { allowStandIns: true, batchNorm: true });
    const index = JSON.parse(readFileSync(sharedPath(REF + 'layers/index.json'), 'utf8'));
    const input = readNpy(readFileSync(sharedPath(REF + 'camera_0.jpg.input_f32_nchw.npy')));
    const seen = new Map<string, Tensor>();
    await net.forward(backend, input, (name, t) => seen.set(name, t));
    for (const layer of index.layers) {
      const got = seen.get(OPENFACE_LAYER_NAMES[layer.name]);
      assert.ok(got, `no traced layer for ${layer.name}`);
      assertClose(`nn4/${layer.name}`, got, readNpy(readFileSync(sharedPath(`${REF}layers/${layer.file}`))));
    }
    // The folded net (the fast form) gives the same inception_3b.
    const folded = nn4FromTensors(conv!.tensors, conv!.metadata, 'shared csv', { allowStandIns: true });
    let f3b: Tensor | undefined;
    await folded.forward(backend, input, (name, t) => { if (name === 'inception_3b') f3b = t; });
    assertClose('nn4/inception_3b (batch norm folded)', f3b!, seen.get('inception_3b')!);
  });

  test('inception_3b for every coursera image (jpeg-js pixels)', async () => {
    const net = nn4FromTensors(conv!.tensors, conv!.metadata, 'shared csv', { allowStandIns: true });
    const files = readdirSync(sharedPath(REF + 'inception_3b')).sort();
    assert.ok(files.length >= 17);
    let worst = 0;
    for (const file of files) {
      const name = file.replace('.inception_3b.npy', '');
      // 'tian (1).jpg' was a byte-identical copy of tian.jpg upstream (../shared/docs/nn4small2.md).
      const img = toRgbImage(sharedPath(`images/coursera/${name.replace(' (1)', '')}`));
      const x = new Tensor([1, 3, 96, 96]);
      for (let p = 0; p < 96 * 96; p++) for (let c = 0; c < 3; c++) x.data[c * 96 * 96 + p] = img.data[p * 3 + c] / 255;
      let got: Tensor | undefined;
      await net.forward(backend, x, (n, t) => { if (n === 'inception_3b') got = t; });
      // The reference decoded JPEGs with libjpeg-turbo, tsface with jpeg-js: the two differ by a
      // few levels per pixel (camera_0: see below), which moves inception_3b by up to ~3% of its
      // maximum. PNG pixels are decoder-independent and must agree at 1e-5.
      const bound = name.endsWith('.png') ? 1e-5 : 5e-2;
      const a = assertClose(`inception_3b ${name}`, got!, readNpy(readFileSync(sharedPath(`${REF}inception_3b/${file}`))), bound);
      if (!name.endsWith('.png')) worst = Math.max(worst, a.maxRel);
    }
    const ref = readNpy(readFileSync(sharedPath(REF + 'camera_0.jpg.input_f32_nchw.npy')));
    const mine = toRgbImage(sharedPath('images/coursera/camera_0.jpg'));
    let levels = 0;
    for (let p = 0; p < 96 * 96; p++) for (let c = 0; c < 3; c++) levels = Math.max(levels, Math.abs(mine.data[p * 3 + c] - Math.round(ref.data[c * 96 * 96 + p] * 255)));
    console.log(`  JPEG images: worst ${worst.toExponential(2)} relative; jpeg-js and libjpeg-turbo pixels of camera_0 differ by up to ${levels} levels`);
  });
});
