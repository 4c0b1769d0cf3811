// The FaceNet Inception family as tables. NN2 is the FaceNet paper's Table 2 (Schroff et al.
// 2015); nn4.small2.v1 is OpenFace's smaller variant (models/openface/nn4.small2.def.lua),
// read with the details in ../shared/docs/nn4small2.md.
import { buildInceptionNet, TORCH7_LRN, type InceptionRow } from './inception.ts';
import type { Net } from './net.ts';

const m = (kernel: number, stride: number, padding = 0) => ({ kind: 'max' as const, kernel, stride, padding });
const l2 = (kernel: number, stride: number, padding = 0) => ({ kind: 'l2' as const, kernel, stride, padding });

/** The stem both nets share: conv1 7x7/2, max pool + LRN, the "inception (2)" row (conv2 1x1, conv3 3x3), LRN + max pool. */
const STEM_ROWS: readonly InceptionRow[] = [
  { type: 'conv', name: 'conv1', out: 64, kernel: 7, stride: 2, padding: 3 },
  { type: 'pool', name: 'pool1', pool: m(3, 2, 1) },
  { type: 'lrn', name: 'lrn1' },
  { type: 'conv', name: 'conv2', out: 64, kernel: 1 },
  { type: 'conv', name: 'conv3', out: 192, kernel: 3, padding: 1 },
  { type: 'lrn', name: 'lrn2' },
  { type: 'pool', name: 'pool2', pool: m(3, 2, 1) },
];

/**
 * NN2, 224x224x3 -> 128. Columns: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool, proj.
 * Where the paper is terse: its "inception (2)" row is conv2 (1x1, 64) + conv3 (3x3, 192); the
 * pools of 3a..5b are 3x3 stride 1 with 1 pixel of padding, because the paper's FLOPS column
 * only adds up with the projections at full resolution (OpenFace's nn2.def.lua instead runs
 * the L2 pool unpadded and zero-pads after the projection, 2.1M fewer multiply-adds in 3b).
 */
export const NN2_ROWS: readonly InceptionRow[] = [
  ...STEM_ROWS,
  { type: 'inception', name: 'inception_3a', c1x1: 64, reduce3x3: 96, c3x3: 128, reduce5x5: 16, c5x5: 32, pool: m(3, 1, 1), poolProj: 32 },
  { type: 'inception', name: 'inception_3b', c1x1: 64, reduce3x3: 96, c3x3: 128, reduce5x5: 32, c5x5: 64, pool: l2(3, 1, 1), poolProj: 64 },
  { type: 'inception', name: 'inception_3c', c1x1: 0, reduce3x3: 128, c3x3: 256, reduce5x5: 32, c5x5: 64, pool: m(3, 2, 1), poolProj: 0, stride: 2 },
  { type: 'inception', name: 'inception_4a', c1x1: 256, reduce3x3: 96, c3x3: 192, reduce5x5: 32, c5x5: 64, pool: l2(3, 1, 1), poolProj: 128 },
  { type: 'inception', name: 'inception_4b', c1x1: 224, reduce3x3: 112, c3x3: 224, reduce5x5: 32, c5x5: 64, pool: l2(3, 1, 1), poolProj: 128 },
  { type: 'inception', name: 'inception_4c', c1x1: 192, reduce3x3: 128, c3x3: 256, reduce5x5: 32, c5x5: 64, pool: l2(3, 1, 1), poolProj: 128 },
  { type: 'inception', name: 'inception_4d', c1x1: 160, reduce3x3: 144, c3x3: 288, reduce5x5: 32, c5x5: 64, pool: l2(3, 1, 1), poolProj: 128 },
  { type: 'inception', name: 'inception_4e', c1x1: 0, reduce3x3: 160, c3x3: 256, reduce5x5: 64, c5x5: 128, pool: m(3, 2, 1), poolProj: 0, stride: 2 },
  { type: 'inception', name: 'inception_5a', c1x1: 384, reduce3x3: 192, c3x3: 384, reduce5x5: 48, c5x5: 128, pool: l2(3, 1, 1), poolProj: 128 },
  { type: 'inception', name: 'inception_5b', c1x1: 384, reduce3x3: 192, c3x3: 384, reduce5x5: 48, c5x5: 128, pool: m(3, 1, 1), poolProj: 128 },
  { type: 'avgpool', name: 'avgpool', kernel: 7 },
  { type: 'dense', name: 'dense', out: 128 },
  { type: 'l2norm', name: 'l2norm' },
];

export function NN2(): Net {
  return buildInceptionNet({ name: 'nn2', input: [3, 224, 224], rows: NN2_ROWS, batchNorm: false, lrn: TORCH7_LRN });
}

/**
 * nn4.small2.v1, 96x96x3 (RGB / 255) -> 128. Floor-mode pools, explicit symmetric padding;
 * pool branches run unpadded and are zero-padded after their projection (DepthConcat).
 */
export const NN4_SMALL2_ROWS: readonly InceptionRow[] = [
  ...STEM_ROWS,
  { type: 'inception', name: 'inception_3a', c1x1: 64, reduce3x3: 96, c3x3: 128, reduce5x5: 16, c5x5: 32, pool: m(3, 2), poolProj: 32 },
  { type: 'inception', name: 'inception_3b', c1x1: 64, reduce3x3: 96, c3x3: 128, reduce5x5: 32, c5x5: 64, pool: l2(3, 3), poolProj: 64 },
  { type: 'inception', name: 'inception_3c', c1x1: 0, reduce3x3: 128, c3x3: 256, reduce5x5: 32, c5x5: 64, pool: m(3, 2), poolProj: 0, stride: 2 },
  { type: 'inception', name: 'inception_4a', c1x1: 256, reduce3x3: 96, c3x3: 192, reduce5x5: 32, c5x5: 64, pool: l2(3, 3), poolProj: 128 },
  { type: 'inception', name: 'inception_4e', c1x1: 0, reduce3x3: 160, c3x3: 256, reduce5x5: 64, c5x5: 128, pool: m(3, 2), poolProj: 0, stride: 2 },
  { type: 'inception', name: 'inception_5a', c1x1: 256, reduce3x3: 96, c3x3: 384, reduce5x5: 0, c5x5: 0, pool: l2(3, 3), poolProj: 96 },
  { type: 'inception', name: 'inception_5b', c1x1: 256, reduce3x3: 96, c3x3: 384, reduce5x5: 0, c5x5: 0, pool: m(3, 2), poolProj: 96 },
  { type: 'avgpool', name: 'avgpool', kernel: 3 },
  { type: 'dense', name: 'dense', out: 128 },
  { type: 'l2norm', name: 'l2norm' },
];

/** With `batchNorm: false` the convs carry their batch norms folded in (the fast form). */
export function Nn4Small2(options: { batchNorm?: boolean } = {}): Net {
  return buildInceptionNet({ name: 'nn4', input: [3, 96, 96], rows: NN4_SMALL2_ROWS, batchNorm: options.batchNorm ?? true, bnEps: 1e-5, lrn: TORCH7_LRN });
}
