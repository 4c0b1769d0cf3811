// One builder for the FaceNet Inception family: a network is a table of rows, one per stage,
// with the columns of the FaceNet paper's Table 2 (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5,
// pool kind and projection, stride). Every conv is conv + (batch norm) + ReLU.
import { ReLU } from '../layers/activation.ts';
import { Branches, Sequential } from '../layers/containers.ts';
import { Conv2d, Dense } from '../layers/conv.ts';
import type { Layer } from '../layers/layer.ts';
import { BatchNorm, L2Normalize, LRN, ZeroPad2d } from '../layers/normalization.ts';
import { AvgPool2d, L2Pool2d, MaxPool2d } from '../layers/pool.ts';
import type { LrnOptions } from '../tensor/backend.ts';
import { ArgumentError } from '../errors.ts';
import { Net } from './net.ts';

export type PoolKind = 'max' | 'l2' | 'avg';

export interface PoolSpec {
  kind: PoolKind;
  kernel: number;
  stride: number;
  padding?: number;
}

export type InceptionRow =
  | { type: 'conv'; name: string; out: number; kernel: number; stride?: number; padding?: number }
  | { type: 'pool'; name: string; pool: PoolSpec }
  | { type: 'lrn'; name: string }
  | {
      type: 'inception';
      name: string;
      /** #1x1 (0: no 1x1 branch). */
      c1x1: number;
      /** #3x3 reduce and #3x3 (0: no branch). */
      reduce3x3: number;
      c3x3: number;
      reduce5x5: number;
      c5x5: number;
      pool: PoolSpec;
      /** Pool projection: a 1x1 conv after the pool (0: the pooled map passes through). */
      poolProj: number;
      /** Stride of the 3x3 and 5x5 convs (2 in the reducing blocks 3c and 4e). */
      stride?: number;
    }
  | { type: 'avgpool'; name: string; kernel: number }
  | { type: 'dense'; name: string; out: number }
  | { type: 'l2norm'; name: string };

export interface InceptionNetSpec {
  name: string;
  input: [number, number, number];
  rows: readonly InceptionRow[];
  /** Batch norm after every conv (nn4.small2), or none (the paper's NN2). */
  batchNorm: boolean;
  bnEps?: number;
  lrn: LrnOptions;
}

/** Torch7 SpatialCrossMapLRN(5, 1e-4, 0.75), as OpenFace uses. */
export const TORCH7_LRN: LrnOptions = { size: 5, alpha: 1e-4, beta: 0.75, k: 1 };

function convUnit(spec: InceptionNetSpec, names: { conv: string; bn: string; relu: string }, inC: number, outC: number, kernel: number, stride = 1, padding = 0): Layer[] {
  const layers: Layer[] = [new Conv2d(names.conv, { in: inC, out: outC, kernel, stride, padding })];
  if (spec.batchNorm) layers.push(new BatchNorm(names.bn, outC, spec.bnEps ?? 1e-5));
  layers.push(new ReLU(names.relu));
  return layers;
}

function poolLayer(name: string, p: PoolSpec): Layer {
  const o = { kernel: p.kernel, stride: p.stride, padding: p.padding ?? 0 };
  return p.kind === 'max' ? new MaxPool2d(name, o) : p.kind === 'l2' ? new L2Pool2d(name, o) : new AvgPool2d(name, o);
}

/**
 * An inception block: branches in the order 3x3, 5x5, pool, 1x1 (OpenFace's concat order).
 * A pool branch smaller than the others is centred with zeros after its projection, as
 * Torch's DepthConcat does: before = floor(diff / 2), after = diff - before.
 */
function inceptionBlock(spec: InceptionNetSpec, row: Extract<InceptionRow, { type: 'inception' }>, input: number[]): Branches {
  const inC = input[0];
  const s = row.stride ?? 1;
  const branches: Sequential[] = [];
  if (row.c3x3) {
    branches.push(new Sequential('3x3', [
      ...convUnit(spec, { conv: 'reduce', bn: 'reduce_bn', relu: 'reduce_relu' }, inC, row.reduce3x3, 1),
      ...convUnit(spec, { conv: 'conv', bn: 'bn', relu: 'relu' }, row.reduce3x3, row.c3x3, 3, s, 1),
    ]));
  }
  if (row.c5x5) {
    branches.push(new Sequential('5x5', [
      ...convUnit(spec, { conv: 'reduce', bn: 'reduce_bn', relu: 'reduce_relu' }, inC, row.reduce5x5, 1),
      ...convUnit(spec, { conv: 'conv', bn: 'bn', relu: 'relu' }, row.reduce5x5, row.c5x5, 5, s, 2),
    ]));
  }
  const pool: Layer[] = [poolLayer('pool', row.pool)];
  if (row.poolProj) pool.push(...convUnit(spec, { conv: 'proj', bn: 'proj_bn', relu: 'proj_relu' }, inC, row.poolProj, 1));
  const target = branches[0].outputShape(input);
  const got = new Sequential('', pool).outputShape(input);
  const dh = target[1] - got[1];
  const dw = target[2] - got[2];
  if (dh < 0 || dw < 0) throw new ArgumentError(`${row.name}: the pool branch (${got}) is larger than the others (${target})`);
  if (dh || dw) pool.push(new ZeroPad2d('pad', [Math.floor(dh / 2), dh - Math.floor(dh / 2), Math.floor(dw / 2), dw - Math.floor(dw / 2)]));
  branches.push(new Sequential('pool', pool));
  if (row.c1x1) branches.push(new Sequential('1x1', convUnit(spec, { conv: 'conv', bn: 'bn', relu: 'relu' }, inC, row.c1x1, 1)));
  return new Branches(row.name, branches);
}

export function buildInceptionNet(spec: InceptionNetSpec): Net {
  const layers: Layer[] = [];
  let shape: number[] = [...spec.input];
  let convIndex = 0;
  for (const row of spec.rows) {
    let layer: Layer | Layer[];
    switch (row.type) {
      case 'conv': {
        const i = ++convIndex;
        layer = convUnit(spec, { conv: row.name, bn: `bn${i}`, relu: `relu${i}` }, shape[0], row.out, row.kernel, row.stride ?? 1, row.padding ?? 0);
        break;
      }
      case 'pool':
        layer = poolLayer(row.name, row.pool);
        break;
      case 'lrn':
        layer = new LRN(row.name, spec.lrn);
        break;
      case 'inception':
        layer = inceptionBlock(spec, row, shape);
        break;
      case 'avgpool':
        layer = new AvgPool2d(row.name, { kernel: row.kernel, stride: 1 });
        break;
      case 'dense':
        layer = new Dense(row.name, shape.reduce((a, b) => a * b, 1), row.out);
        break;
      case 'l2norm':
        layer = new L2Normalize(row.name);
        break;
    }
    for (const l of Array.isArray(layer) ? layer : [layer]) {
      layers.push(l);
      shape = l.outputShape(shape);
    }
  }
  return new Net(spec.name, spec.input, layers);
}
