// The nets a run starts from: the bundled (or fetched) weights, a user's file, or random weights
// drawn from the run's seed as torch's default initialisers draw them (conv and dense weights
// and biases uniform in +-1/sqrt(fan in), PReLU slopes 0.25, batch norms at identity).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { openFaceCachePath } from '../io/cachePaths.ts';
import { NN2, Nn4Small2 } from '../nets/facenet.ts';
import { MobileFaceNet } from '../nets/mobilefacenet.ts';
import type { Net } from '../nets/net.ts';
import { BUNDLED_MOBILEFACENET, nn4FromTensors, readWeightsFile } from '../nets/weights.ts';
import { ArgumentError } from '../errors.ts';
import { Tensor } from '../tensor/tensor.ts';
import { Random } from './random.ts';

export const TRAINABLE_MODELS = ['mobilefacenet', 'nn4.small2.v1', 'nn2'] as const;
export type TrainableModel = (typeof TRAINABLE_MODELS)[number];

/** Metadata a trained file carries, so loaders know it is a tsface training output. */
export const TRAINED_BY = 'tsface train';

export function checkTrainableModel(name: string): TrainableModel {
  if (!(TRAINABLE_MODELS as readonly string[]).includes(name)) throw new ArgumentError(`--model must be one of ${TRAINABLE_MODELS.join(', ')}, got '${name}'`);
  return name as TrainableModel;
}

/** The declared net, batch norms as layers (nn4 and NN2 train them), no weights bound. */
function declared(model: TrainableModel): Net {
  return model === 'mobilefacenet' ? MobileFaceNet() : model === 'nn2' ? NN2() : Nn4Small2({ batchNorm: true });
}

export interface StartingNet {
  net: Net;
  /** 'bundled', 'random' or the file. */
  source: string;
  /** SHA-256 of the starting weights file, or 'random (seed N)'. */
  sha256: string;
}

export function startingNet(model: TrainableModel, init: string, seed: number): StartingNet {
  if (init === 'random') {
    const net = declared(model);
    net.load(randomTensors(net, new Random(seed)), `random (seed ${seed})`);
    return { net, source: 'random', sha256: `random (seed ${seed})` };
  }
  const file = init === 'bundled' ? bundledFile(model) : init;
  const bytes = readFileSync(file);
  const { tensors, metadata } = readWeightsFile(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const net = model === 'nn4.small2.v1'
    // Trained files hold the batch norms unfolded, as OpenFace's own file does.
    ? nn4FromTensors(tensors, metadata, file, { batchNorm: true, allowStandIns: metadata.trained_by === TRAINED_BY })
    : declared(model).load(tensors, file);
  return { net, source: init === 'bundled' ? `bundled (${file})` : file, sha256: createHash('sha256').update(bytes).digest('hex') };
}

function bundledFile(model: TrainableModel): string {
  if (model === 'mobilefacenet') return BUNDLED_MOBILEFACENET;
  if (model === 'nn4.small2.v1') return openFaceCachePath();
  throw new ArgumentError('nn2 has no published weights: use --init random or --init FILE');
}

function randomTensors(net: Net, rng: Random): Map<string, Tensor> {
  const expected = net.expectedTensors();
  const shapes = new Map(expected.map((e) => [e.name, e.shape]));
  const out = new Map<string, Tensor>();
  const uniform = (shape: readonly number[], bound: number) => {
    const t = new Tensor(shape);
    for (let i = 0; i < t.size; i++) t.data[i] = (2 * rng.next() - 1) * bound;
    return t;
  };
  for (const { name, shape } of expected) {
    const param = name.slice(name.lastIndexOf('.') + 1);
    const layer = name.slice(0, name.lastIndexOf('.'));
    const weightShape = shapes.get(`${layer}.weight`);
    const fanIn = weightShape && weightShape.length >= 2 ? weightShape.slice(1).reduce((a, b) => a * b, 1) : 1;
    let t: Tensor;
    if (param === 'alpha') t = new Tensor(shape, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.25));
    else if (param === 'variance') t = new Tensor(shape, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1));
    else if (param === 'mean') t = new Tensor(shape);
    else if (weightShape && weightShape.length >= 2 && (param === 'weight' || param === 'bias')) t = uniform(shape, 1 / Math.sqrt(fanIn));
    // A batch norm's scale and shift: identity.
    else if (param === 'weight') t = new Tensor(shape, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1));
    else t = new Tensor(shape);
    out.set(name, t);
  }
  return out;
}
