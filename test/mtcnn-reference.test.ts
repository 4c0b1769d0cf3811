// The detector against facenet-pytorch's MTCNN run on the same pixels: ../shared/reference/mtcnn/
// detections (libjpeg-turbo's pixels, as PIL decodes them: tsface's own decoder, the default) and
// detections-jpegjs (jpeg-js's pixels: decoder 'jpeg-js'). Every reference face with score >= 0.9
// matches exactly (IoU >= 0.99, landmarks within 1% of the box), scores within 0.01, no extra
// face >= 0.9; and where the reference records the sha256 of the RGB pixels it ran on, tsface
// decoded the same bytes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { iou, matchFaces } from '../src/pipeline/agreement.ts';
import { FaceDetector, type Face } from '../src/pipeline/mtcnn.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { toRgbImage, type DecodeOptions } from '../src/image/decode.ts';
import { sharedPath, sharedSkip } from './helpers/shared.ts';

// The CPU backend's WebAssembly SIMD path (float32 accumulation) and its plain TypeScript path
// (float64) both; the gpu.js modes are held to the CPU backend by the parity suites.
for (const [DIR, decoder, simd] of [['reference/mtcnn/detections/', 'tsface', true], ['reference/mtcnn/detections/', 'tsface', false], ['reference/mtcnn/detections-jpegjs/', 'jpeg-js', true]] as const) {
  const skip = sharedSkip(DIR);
  describe(`MTCNN detections against facenet-pytorch on ${decoder === 'tsface' ? "libjpeg-turbo's (PIL's)" : "jpeg-js's"} pixels (../shared/${DIR}), CPU backend ${simd ? 'SIMD' : 'TypeScript'}`, { skip }, () => {
    const backend = new CpuBackend({ simd });
    const detector = new FaceDetector({ backend });
    after(() => backend.dispose());
    const options: DecodeOptions = { decoder };
    let strong = 0;
    let exact = 0;
    const files = skip ? [] : readdirSync(sharedPath(DIR)).filter((f) => f.endsWith('.json')).sort();
    for (const file of files) {
      test(file.replace('.json', ''), async () => {
        const ref = JSON.parse(readFileSync(sharedPath(DIR + file), 'utf8'));
        const rgb = toRgbImage(sharedPath(ref.image), options);
        if (ref.decoded_rgb_sha256) assert.equal(createHash('sha256').update(rgb.data).digest('hex'), ref.decoded_rgb_sha256, 'decoded pixels');
        const { faces, width, height } = await detector.detect(rgb);
        assert.equal(width, ref.width);
        assert.equal(height, ref.height);
        const refs: Face[] = ref.faces.filter((f: Face) => f.score >= 0.9);
        const matches = matchFaces(faces, refs);
        let worstIou = 1;
        let worstLm = 0;
        for (const m of matches) {
          strong++;
          worstIou = Math.min(worstIou, m.iou);
          worstLm = Math.max(worstLm, m.landmarkError);
          if (m.iou >= 0.99 && m.landmarkError <= 0.01) exact++;
          assert.ok(m.iou >= 0.99, `reference face ${m.ref.box.map((v) => v.toFixed(1))} matched only at IoU ${m.iou.toFixed(4)}`);
          assert.ok(m.landmarkError <= 0.01, `landmarks off by ${(m.landmarkError * 100).toFixed(2)}% of the box`);
          assert.ok(m.scoreError <= 0.01, `score ${m.face?.score} vs ${m.ref.score}`);
        }
        for (const f of faces.filter((f) => f.score >= 0.9)) {
          const best = Math.max(0, ...ref.faces.map((r: Face) => iou(f.box, r.box)));
          assert.ok(best >= 0.5, `extra face ${f.box.map((v) => v.toFixed(1))} score ${f.score.toFixed(3)}`);
        }
        console.log(`  ${decoder.padEnd(8)} ${simd ? 'simd' : 'ts  '} ${file.padEnd(28)} ${faces.length} faces (${refs.length} reference >= 0.9): worst IoU ${worstIou.toFixed(6)}, worst landmark error ${(worstLm * 100).toFixed(4)}% of box`);
      });
    }
    test('every strong reference face matches exactly', () => {
      console.log(`  ${decoder} (${simd ? 'SIMD' : 'TypeScript'}): exact matches ${exact} of ${strong}`);
      assert.ok(strong > 0);
      assert.equal(exact, strong);
    });
  });
}
