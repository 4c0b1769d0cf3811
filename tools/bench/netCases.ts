// The nets the CPU tools time on their own (bench:profile, bench:ab), each with its input shape:
// MTCNN's and MobileFaceNet's bundled weights, nn4.small2 with seeded weights (its OpenFace dump
// takes seconds to parse, and speed does not depend on which weights it holds).
import { Nn4Small2 } from '../../src/nets/facenet.ts';
import type { Net } from '../../src/nets/net.ts';
import { loadMobileFaceNet, loadMtcnn } from '../../src/nets/weights.ts';
import { random } from './random.ts';

function nn4(): Net {
  const net = Nn4Small2({ batchNorm: false });
  return net.load(new Map(net.expectedTensors().map((e, k) => [e.name, random(e.shape, 100 + k)])), 'seeded');
}

export const netCases: Record<string, () => [Net, number[]]> = {
  'pnet-480x640': () => [loadMtcnn().pnet, [1, 3, 480, 640]],
  'pnet-378x720': () => [loadMtcnn().pnet, [1, 3, 378, 720]],
  'rnet-b256': () => [loadMtcnn().rnet, [256, 3, 24, 24]],
  'onet-b64': () => [loadMtcnn().onet, [64, 3, 48, 48]],
  'nn4small2-b1': () => [nn4(), [1, 3, 96, 96]],
  'nn4small2-b32': () => [nn4(), [32, 3, 96, 96]],
  'mobilefacenet-b1': () => [loadMobileFaceNet(), [1, 3, 112, 112]],
  'mobilefacenet-b32': () => [loadMobileFaceNet(), [32, 3, 112, 112]],
};
