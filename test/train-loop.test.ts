// The training loop end to end on a handful of photos, only MobileFaceNet's last layer trained:
// a run killed with SIGKILL and resumed ends with the bits of an uninterrupted one; a learning
// rate that blows up is a typed error naming the step, with nothing written; the output loads
// wherever the bundled weights do and carries its provenance.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readWeightsFile } from '../src/nets/weights.ts';
import { FaceEmbedder } from '../src/pipeline/embed.ts';
import { FaceDetector } from '../src/pipeline/mtcnn.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { checkpointPath, readCheckpoint } from '../src/train/checkpoint.ts';
import { TrainingDivergedError } from '../src/train/errors.ts';
import { curvesPath, train, type TrainOptions } from '../src/train/trainLoop.ts';
import { sharedSkip } from './helpers/shared.ts';
import { copyIdentities, LFW_DEVTRAIN, tempFolder, TRAIN_PEOPLE } from './helpers/trainData.ts';

const skip = sharedSkip(LFW_DEVTRAIN);
const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

describe('training loop', { skip }, () => {
  const backend = new CpuBackend({ threads: 1 });
  const detector = new FaceDetector({ backend });
  let root: string;
  let data: string;
  let cache: string;
  // Tiny: 4 people x 2 photos, batches of 2 x 2, 2 steps an epoch, the last layer alone trained;
  // a margin of 2 on unit vectors keeps every triplet active, so every step moves the weights.
  const settings = () => ({ epochs: 3, batch: '2x2', freeze: 'head/linear', margin: 2, lr: 1e-3, upscale: 0, seed: 5 });
  const run = (out: string, extra: Partial<TrainOptions> = {}) => train({ data, model: 'mobilefacenet', out, backend, detector, cacheDir: cache, ...settings(), ...extra });

  before(() => {
    root = tempFolder('train-loop');
    data = join(root, 'data');
    cache = join(root, 'cache');
    copyIdentities(data, TRAIN_PEOPLE, 2);
  });
  after(async () => {
    rmSync(root, { recursive: true, force: true });
    await backend.dispose();
  });

  it('a run killed with SIGKILL and resumed ends with exactly the weights of an uninterrupted one', async () => {
    const whole = join(root, 'whole.safetensors');
    const r = await run(whole);
    assert.equal(r.steps, 6);
    assert.ok(r.history[0].stepLosses.every((l) => l > 0));
    assert.ok(!existsSync(checkpointPath(whole)), 'a finished run removes its checkpoint');
    assert.ok(existsSync(curvesPath(whole)));

    const killed = join(root, 'killed.safetensors');
    const s = settings();
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'train', data, '--out', killed, '--cache', cache, '--threads', '1',
      '--epochs', String(s.epochs), '--batch', s.batch, '--freeze', s.freeze, '--margin', String(s.margin), '--lr', String(s.lr), '--upscale', String(s.upscale), '--seed', String(s.seed)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const exited = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_code, signal) => done(signal)));
    child.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      // The first checkpoint is on disk once its epoch line is out: kill inside epoch 2.
      if (/epoch 1\/3: /.test(log) && !child.killed) child.kill('SIGKILL');
    });
    assert.equal(await exited, 'SIGKILL', `the child was to be killed mid-run; its log:\n${log}`);
    assert.ok(!existsSync(killed), 'no output from a killed run');
    const saved = readCheckpoint(checkpointPath(killed));
    assert.ok(saved && saved.epoch >= 1 && saved.epoch < 3, 'the killed run left a whole checkpoint of a finished epoch');

    const resumed = await run(killed, { resume: true });
    assert.equal(resumed.resumedFrom, saved.epoch);
    assert.equal(resumed.steps, 6);
    const a = readWeightsFile(whole).tensors;
    const b = readWeightsFile(killed).tensors;
    assert.deepEqual([...a.keys()], [...b.keys()]);
    for (const [name, t] of a) assert.deepEqual(b.get(name)!.data, t.data, name);
    assert.deepEqual(resumed.history.map((h) => h.loss), r.history.map((h) => h.loss));
    // The last layer moved; the frozen ones did not.
    const bundled = readWeightsFile('weights/mobilefacenet.safetensors').tensors;
    assert.notDeepEqual(a.get('mobilefacenet.head.embedding.weight')!.data, bundled.get('mobilefacenet.head.embedding.weight')!.data);
    assert.deepEqual(a.get('mobilefacenet.head.linear.weight')!.data, bundled.get('mobilefacenet.head.linear.weight')!.data);
  });

  it('the output loads through --weights, with its provenance in the metadata', async () => {
    const out = join(root, 'whole.safetensors');
    const { metadata } = readWeightsFile(out);
    assert.equal(metadata.trained_by, 'tsface train');
    assert.equal(metadata.data, data);
    assert.match(metadata.init_sha256, /^[0-9a-f]{64}$/);
    assert.equal(metadata.init_sha256, (await import('node:crypto')).createHash('sha256').update(readFileSync('weights/mobilefacenet.safetensors')).digest('hex'));
    assert.equal(metadata.epochs, '3');
    assert.equal(JSON.parse(metadata.settings).batch.identities, 2);
    const photo = join(data, TRAIN_PEOPLE[0], `${TRAIN_PEOPLE[0]}_0001.jpg`);
    const trained = new FaceEmbedder({ backend, detector, weights: out });
    const plain = new FaceEmbedder({ backend, detector });
    const [t, p] = [(await trained.embed(photo, { selection: 'center' })).faces[0].embedding, (await plain.embed(photo, { selection: 'center' })).faces[0].embedding];
    assert.equal(t.length, 192);
    assert.notDeepEqual(t, p, 'the trained weights are the ones used');
  });

  it('a learning rate that makes the weights non-finite is a TrainingDivergedError naming the step; nothing is written', async () => {
    const out = join(root, 'whole.safetensors');
    const before = readFileSync(out);
    await assert.rejects(run(out, { lr: 1e39 }), (e: unknown) => {
      assert.ok(e instanceof TrainingDivergedError);
      assert.equal(e.step, 1);
      assert.match(e.message, /at step 1 \(epoch 1\).*try a lower --lr/);
      return true;
    });
    assert.deepEqual(readFileSync(out), before, 'the earlier output is untouched');
    assert.ok(!existsSync(checkpointPath(out)));
    assert.deepEqual(readdirSync(root).filter((f) => f.includes('partial')), []);
  });
});
