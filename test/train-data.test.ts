// The training data: identity folders with bad inputs (counted, never fatal), the typed error for
// a folder that cannot give triplets, the on-disk face cache, and the seeded batches.
import assert from 'node:assert/strict';
import { mkdirSync, copyFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MOBILEFACENET, NN4_SMALL2_V1 } from '../src/pipeline/embed.ts';
import { FaceDetector } from '../src/pipeline/mtcnn.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { cropsToTensor, drawAugmentation } from '../src/train/augment.ts';
import { loadIdentities, holdOut } from '../src/train/dataset.ts';
import { degrade, formatDegradation, parseDegradation } from '../src/train/degrade.ts';
import { TrainingDataError } from '../src/train/errors.ts';
import { FaceCache } from '../src/train/faceCache.ts';
import { Random } from '../src/train/random.ts';
import { batchesPerEpoch, epochBatches, parseBatchShape } from '../src/train/sampler.ts';
import { ArgumentError } from '../src/errors.ts';
import { sharedSkip, sharedPath } from './helpers/shared.ts';
import { copyIdentities, LFW_DEVTRAIN, tempFolder, TRAIN_PEOPLE, writeBlankPhoto, writeBrokenPhoto } from './helpers/trainData.ts';

const skip = sharedSkip(LFW_DEVTRAIN);
const settings = { model: MOBILEFACENET, degradation: [], upscale: 0 };

describe('training data', { skip }, () => {
  const backend = new CpuBackend({ threads: 1 });
  const detector = new FaceDetector({ backend });
  let root: string;
  let cacheRoot: string;
  before(() => {
    root = folder('train-data');
    cacheRoot = folder('train-cache');
    copyIdentities(root, TRAIN_PEOPLE.slice(0, 2), 3);
    // One person with one photo, one photo without a face, one file that is no image.
    copyIdentities(root, [TRAIN_PEOPLE[2]], 1);
    writeBlankPhoto(join(root, TRAIN_PEOPLE[0], 'blank.png'));
    writeBrokenPhoto(join(root, TRAIN_PEOPLE[1], 'broken.jpg'));
  });
  const made: string[] = [];
  const folder = (prefix: string) => {
    made.push(tempFolder(prefix));
    return made[made.length - 1];
  };
  after(async () => {
    for (const f of made) rmSync(f, { recursive: true, force: true });
    await backend.dispose();
  });

  it('skips what it cannot use with counts, and the cache answers a second run without detecting', async () => {
    const first = await loadIdentities(root, new FaceCache(cacheRoot, settings, detector));
    assert.equal(first.identities.length, 2);
    assert.deepEqual(first.identities.map((p) => p.crops.length), [3, 3]);
    const r = first.report;
    assert.equal(r.photos, 9);
    assert.equal(r.unreadable, 1);
    assert.equal(r.noFace, 1);
    assert.equal(r.tooFewPhotos, 1);
    assert.equal(r.detected, 8, 'every decodable photo was detected once');
    assert.match(r.problems.join('\n'), /broken\.jpg/);
    assert.equal(first.identities[0].crops[0].width, 112);

    const second = await loadIdentities(root, new FaceCache(cacheRoot, settings, detector));
    assert.equal(second.report.detected, 0, 'nothing detected again');
    assert.equal(second.report.cached, 8, 'faces and "no face" answers both come from the cache');
    assert.deepEqual(second.identities[1].crops[2].data, first.identities[1].crops[2].data);
  });

  it('a changed setting (degradation, model size) misses the cache', async () => {
    const degraded = new FaceCache(cacheRoot, { ...settings, degradation: parseDegradation('downscale:48') }, detector);
    const d = await loadIdentities(root, degraded);
    assert.equal(d.report.cached, 0);
    assert.ok(d.report.detected >= 7);
    const nn4 = new FaceCache(cacheRoot, { ...settings, model: NN4_SMALL2_V1 }, detector);
    const n = await loadIdentities(root, nn4);
    assert.equal(n.report.cached, 0);
    assert.equal(n.identities[0].crops[0].width, 96);
    assert.equal(readdirSync(cacheRoot).length, 3, 'one cache folder per setting');
  });

  it('a folder with one usable identity is a TrainingDataError that names the problem', async () => {
    const one = folder('train-one');
    copyIdentities(one, [TRAIN_PEOPLE[0]], 3);
    copyIdentities(one, [TRAIN_PEOPLE[1]], 1);
    await assert.rejects(loadIdentities(one, new FaceCache(cacheRoot, settings, detector)), (e: unknown) => {
      assert.ok(e instanceof TrainingDataError);
      assert.match(e.message, /only one identity has 2 or more photos/);
      assert.match(e.message, /1 identities with fewer than 2 usable photos/);
      return true;
    });
    const empty = folder('train-empty');
    mkdirSync(join(empty, 'nobody'));
    copyFileSync(sharedPath(`${LFW_DEVTRAIN}/${TRAIN_PEOPLE[0]}/${TRAIN_PEOPLE[0]}_0001.jpg`), join(empty, 'loose.jpg'));
    await assert.rejects(loadIdentities(empty, new FaceCache(cacheRoot, settings, detector)), /no identity has .*1 files outside identity folders/);
    await assert.rejects(loadIdentities(join(empty, 'missing'), new FaceCache(cacheRoot, settings, detector)), ArgumentError);
  });
});

describe('seeded batches and augmentation', () => {
  it('the same seed draws the same batches and augmentations; another seed does not', () => {
    const counts = [3, 2, 5, 4, 2, 2, 6];
    const shape = parseBatchShape('3x2');
    const draw = (seed: number) => {
      const rng = new Random(seed);
      const epochs = [epochBatches(counts, shape, rng), epochBatches(counts, shape, rng)];
      const augs = Array.from({ length: 20 }, () => drawAugmentation(rng, 2));
      return JSON.stringify({ epochs, augs });
    };
    assert.equal(draw(7), draw(7));
    assert.notEqual(draw(7), draw(8));
    const batches = epochBatches(counts, shape, new Random(1));
    assert.equal(batches.length, batchesPerEpoch(counts.length, shape));
    // 7 people in groups of 3: the last lone person joins the second batch.
    assert.deepEqual(batches.map((b) => new Set(b.map((i) => i.identity)).size), [3, 4]);
    for (const b of batches) for (const item of b) assert.ok(item.crop < counts[item.identity]);
    assert.ok(batches.every((b) => b.filter((i) => i.identity === b[0].identity).length === 2), 'K = 2 photos per person');
  });

  it('a generator restored from its state continues the same stream', () => {
    const a = new Random(42);
    for (let i = 0; i < 5; i++) a.next();
    const b = new Random(a.state());
    assert.deepEqual(Array.from({ length: 8 }, () => a.nextUint32()), Array.from({ length: 8 }, () => b.nextUint32()));
  });

  it('flip and shift move pixels as drawn', () => {
    const s = 4;
    const crop = { width: s, height: s, data: new Uint8Array(s * s * 3).map((_, i) => Math.floor(i / 3)) };
    const model = { size: s, normalize: (v: number) => v };
    const [plain, flipped, shifted] = [{ flip: false, dx: 0, dy: 0 }, { flip: true, dx: 0, dy: 0 }, { flip: false, dx: 1, dy: 0 }].map((a) => cropsToTensor([crop], [a], model));
    assert.deepEqual(Array.from(plain.data.slice(0, 4)), [0, 1, 2, 3]);
    assert.deepEqual(Array.from(flipped.data.slice(0, 4)), [3, 2, 1, 0]);
    assert.deepEqual(Array.from(shifted.data.slice(0, 4)), [0, 0, 1, 2], 'shifted right, the edge repeated');
  });

  it('bad batch shapes and degradations are ArgumentErrors', () => {
    for (const bad of ['8', '1x4', '8x1', 'axb', '8x4x2']) assert.throws(() => parseBatchShape(bad), ArgumentError);
    for (const bad of ['downscale', 'downscale:2', 'blur:-1', 'jpeg:0', 'sharpen:3', 'downscale:32:1']) assert.throws(() => parseDegradation(bad), ArgumentError);
    assert.equal(formatDegradation(parseDegradation('downscale:32, jpeg:50')), 'downscale:32,jpeg:50');
    const img = { width: 64, height: 48, data: new Uint8Array(64 * 48 * 3).map((_, i) => (i * 37) % 256) };
    for (const spec of ['downscale:16', 'blur:1.5', 'jpeg:40']) {
      const out = degrade(img, parseDegradation(spec));
      assert.equal(out.width, 64);
      assert.equal(out.height, 48);
      assert.notDeepEqual(out.data, img.data, spec);
    }
  });

  it('hold-out splits whole identities, seeded', () => {
    const people = Array.from({ length: 10 }, (_, i) => ({ name: `p${i}`, crops: [], paths: [] }));
    const a = holdOut(people, 0.3, new Random(3));
    const b = holdOut(people, 0.3, new Random(3));
    assert.equal(a.held.length, 3);
    assert.deepEqual(a.held.map((p) => p.name), b.held.map((p) => p.name));
    assert.throws(() => holdOut(people.slice(0, 3), 0.5, new Random(1)), TrainingDataError);
  });
});
