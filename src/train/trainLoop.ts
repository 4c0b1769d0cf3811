// `train(options, onStep)`: FaceNet's triplet training (or fine-tuning) of an embedding net on a
// folder of identity folders. Faces come from the on-disk crop cache; each epoch draws P x K
// batches and their augmentations from one seeded generator whose state is checkpointed with the
// weights and the optimiser after every epoch, so a killed run resumed with `resume` ends with
// the bits an uninterrupted run gives (one CPU thread: several threads may sum in another order).
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { writeFileAtomic } from '../io/writeFile.ts';
import { embeddingModel, type EmbeddingModelSpec } from '../pipeline/embed.ts';
import { FaceDetector } from '../pipeline/mtcnn.ts';
import type { Backend } from '../tensor/backend.ts';
import { ArgumentError, WeightsError } from '../errors.ts';
import { writeSafetensors } from '../tensor/safetensors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { cropsToTensor, drawAugmentation } from './augment.ts';
import { checkpointPath, readCheckpoint, writeCheckpoint } from './checkpoint.ts';
import { writeCurves } from './curves.ts';
import { holdOut, loadIdentities, type DataReport, type Identity } from './dataset.ts';
import { formatDegradation, parseDegradation } from './degrade.ts';
import { TrainingDivergedError } from './errors.ts';
import { defaultFaceCacheDir, FaceCache } from './faceCache.ts';
import type { EpochRecord } from './history.ts';
import { checkTrainableModel, startingNet, TRAINED_BY, type TrainableModel } from './init.ts';
import { allFinite, netTensors, restoreNetTensors } from './netTensors.ts';
import { Adam, AdamW, clipGradNorm, SGD, type Optimizer } from './optimizers.ts';
import { Random } from './random.ts';
import { batchesPerEpoch, epochBatches, parseBatchShape, type BatchShape } from './sampler.ts';
import { cosineLr } from './schedule.ts';
import { tripletStep, type TripletMining } from './tripletStep.ts';
import { heldOutPairs, pairsFileSet, validate, type ValidationSet } from './validate.ts';

export type OptimizerName = 'sgd' | 'adam' | 'adamw';

export interface TrainOptions {
  /** A folder of identity folders: <data>/<Name>/<photos>. */
  data: string;
  model: TrainableModel;
  /** Where the trained weights go; the checkpoint and curves go beside it. */
  out: string;
  backend: Backend;
  /** 'bundled' (default; nn2 has none), 'random', or a weights file. */
  init?: string;
  /** Parameters of every layer up to and including this one stay as they are. */
  freeze?: string;
  epochs?: number;
  /** P identities x K photos ('8x4'). */
  batch?: string | BatchShape;
  /** Peak learning rate (cosine decay to 0 over the run, after a short warm-up). */
  lr?: number;
  optimizer?: OptimizerName;
  weightDecay?: number;
  margin?: number;
  mining?: TripletMining;
  /** Gradients scaled to at most this norm (0: never). */
  clip?: number;
  /** Whole-photo degradation before detection ('downscale:32'...). */
  degrade?: string;
  /** Photos smaller than this are enlarged to it before detection (eval-lfw's --upscale). 0: never. */
  upscale?: number;
  /** Augmentation: crops shifted up to this many pixels each way (flips always on). */
  jitter?: number;
  /** An LFW pairs file to validate on after every epoch, names resolved under validateRoot (default data). */
  validate?: string;
  validateRoot?: string;
  /** Fraction of the usable identities held back from training and validated on. */
  holdOut?: number;
  /** Continue from the checkpoint beside `out`. */
  resume?: boolean;
  seed?: number;
  /** Stop each epoch after this many steps (a quick run over part of the data). */
  stepsPerEpoch?: number;
  /** Where face crops are cached (default ~/.cache/tsface/faces or $TSFACE_CACHE/faces). */
  cacheDir?: string;
  detector?: FaceDetector;
  /** Called as photos are prepared (detection or cache). */
  onPhoto?: (done: number, total: number) => void;
  /** Called once the data is loaded and any checkpoint read, before the first step. */
  onStart?: (info: { data: DataReport; validation: string | null; resumedFrom: number | null; totalSteps: number }) => void;
  /** Called after each epoch (with its validation) and its checkpoint. */
  onEpoch?: (record: EpochRecord, total: number) => void;
}

/**
 * Defaults chosen for fine-tuning the bundled weights on a few thousand photos: Adam at a small
 * rate so two epochs adapt the net without losing what it knew, semi-hard mining (batch-hard
 * picks the worst pairs of noisy labels from the first step), margin 0.2 on unit embeddings.
 */
export const TRAIN_DEFAULTS = {
  epochs: 2,
  batch: '8x4',
  lr: 2e-5,
  optimizer: 'adam' as OptimizerName,
  weightDecay: 0,
  margin: 0.2,
  mining: 'semi-hard' as TripletMining,
  clip: 10,
  upscale: 250,
  jitter: 2,
  seed: 1,
  warmupFraction: 0.05,
};

export interface StepReport {
  epoch: number;
  epochs: number;
  /** Steps taken in the run so far (this one included). */
  step: number;
  totalSteps: number;
  stepInEpoch: number;
  stepsInEpoch: number;
  loss: number;
  active: number;
  triplets: number;
  images: number;
  lr: number;
  gradNorm: number;
  seconds: number;
}

export interface TrainResult {
  out: string;
  curves: string;
  history: EpochRecord[];
  data: DataReport;
  /** Held-back identities (hold-out) or the pairs file, as validated. */
  validation: string | null;
  resumedFrom: number | null;
  steps: number;
}

interface Settings {
  model: TrainableModel;
  init: string;
  freeze: string | null;
  epochs: number;
  batch: BatchShape;
  lr: number;
  optimizer: OptimizerName;
  weightDecay: number;
  margin: number;
  mining: TripletMining;
  clip: number;
  degrade: string;
  upscale: number;
  jitter: number;
  validate: string | null;
  holdOut: number;
  seed: number;
  stepsPerEpoch: number | null;
}

function checkedSettings(o: TrainOptions): Settings {
  const d = TRAIN_DEFAULTS;
  const s: Settings = {
    model: checkTrainableModel(o.model),
    init: o.init ?? (o.model === 'nn2' ? 'random' : 'bundled'),
    freeze: o.freeze ?? null,
    epochs: o.epochs ?? d.epochs,
    batch: typeof o.batch === 'object' ? o.batch : parseBatchShape(o.batch ?? d.batch),
    lr: o.lr ?? d.lr,
    optimizer: o.optimizer ?? d.optimizer,
    weightDecay: o.weightDecay ?? (o.optimizer === 'adamw' ? 0.01 : d.weightDecay),
    margin: o.margin ?? d.margin,
    mining: o.mining ?? d.mining,
    clip: o.clip ?? d.clip,
    degrade: formatDegradation(parseDegradation(o.degrade ?? '')),
    upscale: o.upscale ?? d.upscale,
    jitter: o.jitter ?? d.jitter,
    validate: o.validate ? resolve(o.validate) : null,
    holdOut: o.holdOut ?? 0,
    seed: o.seed ?? d.seed,
    stepsPerEpoch: o.stepsPerEpoch ?? null,
  };
  const positiveInt = (v: number) => Number.isInteger(v) && v >= 1;
  if (!positiveInt(s.epochs)) throw new ArgumentError(`--epochs must be a positive integer, got ${s.epochs}`);
  if (!(s.lr > 0 && Number.isFinite(s.lr))) throw new ArgumentError(`--lr must be a positive number, got ${s.lr}`);
  if (!['sgd', 'adam', 'adamw'].includes(s.optimizer)) throw new ArgumentError(`--optimizer must be sgd, adam or adamw, got '${s.optimizer}'`);
  if (!['batch-hard', 'semi-hard', 'all'].includes(s.mining)) throw new ArgumentError(`--mining must be batch-hard, semi-hard or all, got '${s.mining}'`);
  if (!(s.weightDecay >= 0)) throw new ArgumentError(`--weight-decay must be 0 or more, got ${s.weightDecay}`);
  if (!(s.margin > 0 && s.margin <= 4)) throw new ArgumentError(`--margin must be in (0, 4] (squared distances of unit vectors), got ${s.margin}`);
  if (!(s.clip >= 0)) throw new ArgumentError(`--clip must be 0 or more, got ${s.clip}`);
  if (!(Number.isInteger(s.upscale) && s.upscale >= 0 && s.upscale <= 4096)) throw new ArgumentError(`--upscale must be an integer 0..4096, got ${s.upscale}`);
  if (!(Number.isInteger(s.jitter) && s.jitter >= 0 && s.jitter <= 16)) throw new ArgumentError(`--jitter must be an integer 0..16, got ${s.jitter}`);
  if (!(s.holdOut >= 0 && s.holdOut < 1)) throw new ArgumentError(`--hold-out must be a fraction in [0, 1), got ${s.holdOut}`);
  if (s.validate && s.holdOut > 0) throw new ArgumentError('--validate and --hold-out are two ways to validate: give one');
  if (!Number.isSafeInteger(s.seed)) throw new ArgumentError(`--seed must be an integer, got ${s.seed}`);
  if (s.stepsPerEpoch !== null && !positiveInt(s.stepsPerEpoch)) throw new ArgumentError(`--steps-per-epoch must be a positive integer, got ${s.stepsPerEpoch}`);
  return s;
}

function makeOptimizer(s: Settings, params: { name: string; tensor: Tensor }[]): Optimizer {
  if (s.optimizer === 'sgd') return new SGD(params, { lr: s.lr, momentum: 0.9, weightDecay: s.weightDecay });
  if (s.optimizer === 'adamw') return new AdamW(params, { lr: s.lr, weightDecay: s.weightDecay });
  return new Adam(params, { lr: s.lr, weightDecay: s.weightDecay });
}

export function curvesPath(out: string): string {
  return out.replace(/(\.safetensors)?$/, '.curves.png');
}

export async function train(options: TrainOptions, onStep?: (s: StepReport) => void): Promise<TrainResult> {
  const s = checkedSettings(options);
  if (!options.out) throw new ArgumentError('train needs an output file (--out model.safetensors)');
  const out = resolve(options.out);
  const data = resolve(options.data);
  const ckptFile = checkpointPath(out);
  const spec: EmbeddingModelSpec = s.model === 'nn2' ? { ...embeddingModel('nn4.small2.v1'), name: 'nn2', size: 224 } : embeddingModel(s.model);
  const start = startingNet(s.model, s.init, s.seed + 3);
  const net = start.net;
  const frozen = s.freeze ? net.frozenUpTo(s.freeze) : new Set<Tensor>();
  const trainable = (t: Tensor) => !frozen.has(t);
  const params = net.parameters().filter((p) => trainable(p.tensor));
  if (params.length === 0) throw new ArgumentError(`--freeze ${s.freeze} freezes every parameter of ${s.model}: nothing would train`);
  const optimizer = makeOptimizer(s, params);

  const detector = options.detector ?? new FaceDetector({ backend: options.backend });
  const cache = new FaceCache(options.cacheDir ?? defaultFaceCacheDir(), { model: spec, degradation: parseDegradation(s.degrade), upscale: s.upscale }, detector);
  const loaded = await loadIdentities(data, cache, options.onPhoto);
  const split = holdOut(loaded.identities, s.holdOut, new Random(s.seed + 1));
  const people: Identity[] = split.train;
  let valSet: ValidationSet | null = null;
  if (split.held.length) valSet = heldOutPairs(split.held, s.seed + 2);
  else if (s.validate) valSet = await pairsFileSet(s.validate, options.validateRoot ?? data, cache);

  const fingerprint = JSON.stringify({ ...s, data, initSha256: start.sha256, identities: people.map((p) => `${p.name}:${p.crops.length}`).join(',') });
  const rng = new Random(s.seed);
  let history: EpochRecord[] = [];
  let step = 0;
  let firstEpoch = 0;
  let resumedFrom: number | null = null;
  if (options.resume) {
    const c = readCheckpoint(ckptFile);
    if (c) {
      if (c.fingerprint !== fingerprint) throw new ArgumentError(`${ckptFile} belongs to a run with other settings or data; rerun without --resume to start over (it will be replaced)`);
      restoreNetTensors(net, c.net, ckptFile);
      optimizer.loadState(c.optimizer);
      rng.restore(c.rng);
      history = c.history;
      step = c.step;
      firstEpoch = c.epoch;
      resumedFrom = c.epoch;
    }
  }

  const counts = people.map((p) => p.crops.length);
  const perEpoch = Math.min(batchesPerEpoch(people.length, s.batch), s.stepsPerEpoch ?? Infinity);
  const totalSteps = perEpoch * s.epochs;
  const warmup = Math.round(totalSteps * TRAIN_DEFAULTS.warmupFraction);
  const curves = curvesPath(out);
  options.onStart?.({ data: loaded.report, validation: valSet?.describe ?? null, resumedFrom, totalSteps });
  const title = `${s.model} ${s.init === 'random' ? 'from random weights' : 'fine-tuned'}, ${people.length} identities, --degrade ${s.degrade}`;
  for (let epoch = firstEpoch; epoch < s.epochs; epoch++) {
    const started = performance.now();
    const batches = epochBatches(counts, s.batch, rng).slice(0, perEpoch);
    const losses: number[] = [];
    let activeSum = 0;
    for (const [k, items] of batches.entries()) {
      const stepStarted = performance.now();
      const crops = items.map((it) => people[it.identity].crops[it.crop]);
      const augs = items.map(() => drawAugmentation(rng, s.jitter));
      const x = cropsToTensor(crops, augs, spec);
      optimizer.lr = cosineLr(s.lr, step, totalSteps, 0, warmup);
      const r = await tripletStep(net, options.backend, x, items.map((it) => it.identity), { margin: s.margin, mining: s.mining, trainable, training: true });
      step++;
      if (!Number.isFinite(r.loss)) throw new TrainingDivergedError(step, epoch + 1, `the loss became ${r.loss}`, s.lr);
      // Every step updates (a step without an active triplet has zero gradients, as in torch).
      const gradNorm = s.clip > 0 ? clipGradNorm(r.grads, s.clip) : 0;
      if (!Number.isFinite(gradNorm) || !allFinite(r.grads.values())) throw new TrainingDivergedError(step, epoch + 1, 'the gradients became non-finite', s.lr);
      optimizer.step(r.grads);
      if (!allFinite(params.map((p) => p.tensor))) throw new TrainingDivergedError(step, epoch + 1, 'the weights became non-finite', s.lr);
      losses.push(r.loss);
      activeSum += r.triplets ? r.active / r.triplets : 0;
      onStep?.({
        epoch: epoch + 1, epochs: s.epochs, step, totalSteps, stepInEpoch: k + 1, stepsInEpoch: batches.length,
        loss: r.loss, active: r.active, triplets: r.triplets, images: items.length, lr: optimizer.lr, gradNorm, seconds: (performance.now() - stepStarted) / 1000,
      });
    }
    if (!allFinite(net.buffers().map((b) => b.tensor))) throw new TrainingDivergedError(step, epoch + 1, 'the batch-norm statistics became non-finite', s.lr);
    const record: EpochRecord = {
      epoch: epoch + 1,
      loss: losses.reduce((a, b) => a + b, 0) / Math.max(1, losses.length),
      stepLosses: losses,
      activeFraction: activeSum / Math.max(1, losses.length),
      seconds: (performance.now() - started) / 1000,
    };
    if (valSet) {
      const v = await validate(net, options.backend, spec, valSet);
      record.validation = { accuracy: v.accuracy, std: v.std, tarAtFar1e3: v.tarAtFar1e3, pairs: v.pairs };
    }
    history.push(record);
    writeCheckpoint(ckptFile, { epoch: epoch + 1, step, rng: rng.state(), fingerprint, history, net: netTensors(net), optimizer: optimizer.state() });
    writeCurves(curves, history, title);
    options.onEpoch?.(record, s.epochs);
  }

  const last = history.at(-1);
  const metadata: Record<string, string> = {
    trained_by: TRAINED_BY,
    format: `tsface-trained-${s.model}-1`,
    model: s.model,
    data,
    settings: JSON.stringify(s),
    init: start.source,
    init_sha256: start.sha256,
    epochs: String(history.length),
    steps: String(step),
    identities: String(people.length),
    faces: String(people.reduce((a, p) => a + p.crops.length, 0)),
    final_loss: last ? String(last.loss) : 'none',
    validation: valSet ? valSet.describe : 'none',
    final_validation: last?.validation ? JSON.stringify(last.validation) : 'none',
    licence: 'the user\'s: trained by tsface from the user\'s photos and starting weights',
  };
  if (s.model === 'nn4.small2.v1') metadata.openface = 'false';
  writeFileAtomic(out, writeSafetensors(netTensors(net), metadata), (reason) => new WeightsError(out, null, reason));
  // The run is complete: its checkpoint would only be resumed into this same file.
  if (existsSync(ckptFile)) rmSync(ckptFile);
  return { out, curves, history, data: loaded.report, validation: valSet?.describe ?? null, resumedFrom, steps: step };
}
