// The LFW reference protocol's pieces: the face nearest the image centre is the subject (not the
// largest), small crops are upscaled with PIL's bicubic before detection, and eval-lfw runs them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { toRgbImage, type RgbImage } from '../src/image/decode.ts';
import { FaceDetector } from '../src/pipeline/mtcnn.ts';
import { resizeBicubic } from '../src/image/resize.ts';
import { sharedPath, sharedSkip } from './helpers/shared.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLE = join(ROOT, 'examples', 'astronaut.jpg');
const detector = new FaceDetector();
after(() => detector.dispose());

/** Images pasted at their (x, y) onto a black canvas of width x height. */
function paste(width: number, height: number, parts: [RgbImage, number, number][]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (const [img, ox, oy] of parts) {
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const tx = ox + x, ty = oy + y;
        if (tx < 0 || ty < 0 || tx >= width || ty >= height) continue;
        data.set(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3), (ty * width + tx) * 3);
      }
    }
  }
  return { width, height, data };
}

function writePng(file: string, img: RgbImage): void {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0; i < img.width * img.height; i++) {
    png.data.set(img.data.subarray(i * 3, i * 3 + 3), i * 4);
    png.data[i * 4 + 3] = 255;
  }
  writeFileSync(file, PNG.sync.write(png));
}

test("'center' keeps the face nearest the image centre where 'largest' keeps a bigger one off to the side", async () => {
  const face = toRgbImage(EXAMPLE);
  const small = resizeBicubic(face, 256, 256);
  // A 900x512 photo: the full-size copy on the left, a half-size copy centred on the right half's
  // left edge, so its face is the one nearest the centre.
  const photo = paste(900, 512, [[face, 0, 0], [small, 380, 128]]);
  const all = (await detector.detect(photo)).faces;
  assert.equal(all.length, 2);
  const [largest] = (await detector.detect(photo, { selection: 'largest' })).faces;
  const [center] = (await detector.detect(photo, { selection: 'center' })).faces;
  const cx = (f: { box: number[] }) => (f.box[0] + f.box[2]) / 2;
  assert.ok(cx(largest) < 300, `largest at x ${cx(largest)}`);
  assert.ok(cx(center) > 400, `center at x ${cx(center)}`);
  assert.ok(center.box[2] - center.box[0] < largest.box[2] - largest.box[0]);
});

test('eval-lfw on 150 px crops upscaled to 250 (bicubic) finds every face and verifies the pair', { skip: sharedSkip('images/lfw-sample/') }, () => {
  const root = mkdtempSync(join(tmpdir(), 'tsface-lfw150-'));
  mkdirSync(join(root, 'Anthony_Hopkins'));
  for (const i of ['0001', '0002']) {
    const img = toRgbImage(sharedPath(`images/lfw-sample/Anthony_Hopkins_${i}.jpg`));
    // LFW's 150 px variant: the 250 px photo shrunk as PIL would, stored losslessly (PNG bytes under
    // the .jpg name pairs.txt implies: tsface goes by the signature, not the name).
    writePng(join(root, 'Anthony_Hopkins', `Anthony_Hopkins_${i}.jpg`), resizeBicubic(img, 150, 150));
  }
  copyFileSync(EXAMPLE, join(root, 'Eileen_Collins_0001.jpg'));
  writeFileSync(join(root, 'pairs.txt'), '1 1\nAnthony_Hopkins 1 2\nAnthony_Hopkins 1 Eileen_Collins 1\n');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'eval-lfw', '--root', root, '--pairs', join(root, 'pairs.txt'), '--upscale', '250', '--json'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.noFaceDetected, 0);
  assert.equal(out.pairs, 2);
  assert.equal(out.accuracy, 1);
});
