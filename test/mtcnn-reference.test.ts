// The detector against facenet-pytorch's MTCNN run on the same (jpeg-js) pixels:
// ../shared/reference/mtcnn/detections-jpegjs. Of the reference faces with score >= 0.9, at
// least 98% match exactly (IoU >= 0.99, landmarks within 1% of the box) and all closely
// (IoU >= 0.9, landmarks within 5%); no extra face >= 0.9; scores within 0.01.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { iou, matchFaces } from '../src/pipeline/agreement.ts';
import { FaceDetector, type Face } from '../src/pipeline/mtcnn.ts';
import { sharedPath, sharedSkip } from './helpers/shared.ts';

const DIR = 'reference/mtcnn/detections-jpegjs/';
const skip = sharedSkip(DIR);

describe('MTCNN detections against facenet-pytorch (../shared)', { skip }, () => {
  const detector = new FaceDetector();
  after(() => detector.dispose());
  let strong = 0;
  let exact = 0;
  const files = skip ? [] : readdirSync(sharedPath(DIR)).filter((f) => f.endsWith('.json')).sort();
  for (const file of files) {
    test(file.replace('.json', ''), async () => {
      const ref = JSON.parse(readFileSync(sharedPath(DIR + file), 'utf8'));
      const { faces, width, height } = await detector.detect(sharedPath(ref.image));
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
        assert.ok(m.iou >= 0.9, `reference face ${m.ref.box.map((v) => v.toFixed(1))} matched only at IoU ${m.iou.toFixed(4)}`);
        assert.ok(m.landmarkError <= 0.05, `landmarks off by ${(m.landmarkError * 100).toFixed(2)}% of the box`);
        assert.ok(m.scoreError <= 0.01, `score ${m.face?.score} vs ${m.ref.score}`);
      }
      for (const f of faces.filter((f) => f.score >= 0.9)) {
        const best = Math.max(0, ...ref.faces.map((r: Face) => iou(f.box, r.box)));
        assert.ok(best >= 0.5, `extra face ${f.box.map((v) => v.toFixed(1))} score ${f.score.toFixed(3)}`);
      }
      console.log(`  ${file.padEnd(28)} ${faces.length} faces (${refs.length} reference >= 0.9): worst IoU ${worstIou.toFixed(6)}, worst landmark error ${(worstLm * 100).toFixed(4)}% of box`);
    });
  }
  test('at least 98% of the strong reference faces match exactly', () => {
    console.log(`  exact matches: ${exact} of ${strong}`);
    assert.ok(strong > 0);
    assert.ok(exact / strong >= 0.98, `${exact} of ${strong}`);
  });
});
