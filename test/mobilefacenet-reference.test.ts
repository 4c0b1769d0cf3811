// MobileFaceNet and five-point alignment against the reference pipeline's embeddings and
// aligned crops of the 12 faces of the shared photos (../shared/reference/mobilefacenet).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { similarityTransform, TEMPLATE_112 } from '../src/pipeline/align.ts';
import { FaceEmbedder } from '../src/pipeline/embed.ts';
import { toRgbImage } from '../src/image/decode.ts';
import { cosineSimilarity } from '../src/pipeline/verify.ts';
import { readNpy } from '../src/tensor/npy.ts';
import { agreement } from './helpers/compare.ts';
import { sharedPath, sharedSkip } from './helpers/shared.ts';

const DIR = 'reference/mobilefacenet/';
const skip = sharedSkip(DIR);

describe('MobileFaceNet against the reference pipeline (../shared)', { skip }, () => {
  const embedder = new FaceEmbedder();
  after(() => embedder.dispose());
  const ref = skip ? { faces: [] } : JSON.parse(readFileSync(sharedPath(DIR + 'embeddings-jpegjs.json'), 'utf8'));
  const crops = skip ? null : readNpy(readFileSync(sharedPath(DIR + 'crops_u8.npy')));

  test('the net on the reference crops gives the reference embeddings (1e-5 relative)', async () => {
    const n = ref.faces.length;
    const items = Array.from({ length: n }, (_, i) => ({ width: 112, height: 112, data: Uint8Array.from(crops!.data.subarray(i * 112 * 112 * 3, (i + 1) * 112 * 112 * 3)) }));
    const raw = await embedder.net.forward(embedder.backend, await (async () => {
      const { Tensor } = await import('../src/tensor/tensor.ts');
      const x = new Tensor([n, 3, 112, 112]);
      items.forEach((c, k) => { for (let p = 0; p < 112 * 112; p++) for (let ch = 0; ch < 3; ch++) x.data[(k * 3 + ch) * 112 * 112 + p] = embedder.model.normalize(c.data[p * 3 + ch]); });
      return x;
    })());
    for (let i = 0; i < n; i++) {
      const a = agreement(raw.output.data.subarray(i * 192, (i + 1) * 192), ref.faces[i].embedding_raw);
      console.log(`  face ${String(i).padStart(2)} raw embedding: max abs ${a.maxAbs.toExponential(2)}, max rel ${a.maxRel.toExponential(2)}`);
      assert.ok(a.maxRel <= 1e-5, `face ${i}: ${a.maxRel}`);
    }
  });

  test('alignment reproduces the reference transform and crops; embeddings agree end to end', async () => {
    const images = new Map<string, ReturnType<typeof toRgbImage>>();
    for (const [i, face] of ref.faces.entries()) {
      const m = similarityTransform(face.landmarks, TEMPLATE_112);
      const refM = face.warp_2x3;
      for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) assert.ok(Math.abs(m[r][c] - refM[r][c]) < 1e-6, `transform ${r},${c}: ${m[r][c]} vs ${refM[r][c]}`);
      // The reference crops were computed on jpeg-js's pixels.
      if (!images.has(face.image)) images.set(face.image, toRgbImage(sharedPath(face.image), { decoder: 'jpeg-js' }));
      const { faces } = await embedder.embed(images.get(face.image)!, { faces: [{ box: face.box, score: 1, landmarks: face.landmarks }] });
      const crop = faces[0].crop.data;
      const refCrop = crops!.data.subarray(i * 112 * 112 * 3, (i + 1) * 112 * 112 * 3);
      let worst = 0;
      let sum = 0;
      for (let k = 0; k < crop.length; k++) { const d = Math.abs(crop[k] - refCrop[k]); worst = Math.max(worst, d); sum += d; }
      const cos = cosineSimilarity(faces[0].embedding, ref.faces[i].embedding);
      console.log(`  face ${String(i).padStart(2)} crop: max level difference ${worst}, mean ${(sum / crop.length).toFixed(3)}; cosine to reference ${cos.toFixed(6)}`);
      assert.ok(sum / crop.length < 0.5, 'crops agree on average within half a level');
      assert.ok(cos > 0.999, `embedding cosine ${cos}`);
    }
  });

  test('same person above the default threshold, the matrix of the reference reproduced', async () => {
    const byImage = new Map<string, Float32Array>();
    for (const face of ref.faces) {
      if (!face.image.includes('lfw-sample')) continue;
      const { faces } = await embedder.embed(sharedPath(face.image), { selection: 'largest' });
      byImage.set(face.image, faces[0].embedding);
    }
    const a = byImage.get('images/lfw-sample/Anthony_Hopkins_0001.jpg')!;
    const b = byImage.get('images/lfw-sample/Anthony_Hopkins_0002.jpg')!;
    const cos = cosineSimilarity(a, b);
    console.log(`  Anthony_Hopkins 0001 vs 0002 cosine ${cos.toFixed(4)} (reference 0.831)`);
    assert.ok(Math.abs(cos - 0.831) < 0.01);
    assert.ok(cos >= embedder.model.threshold);
  });
});
