// The nets tsface knows by name, for the commands that take one.
import { ArgumentError } from '../errors.ts';
import { NN2, Nn4Small2 } from './facenet.ts';
import { MobileFaceNet } from './mobilefacenet.ts';
import { ONet, PNet, RNet } from './mtcnn.ts';
import type { Net } from './net.ts';
import { loadMobileFaceNet, loadMtcnn, loadNn4Small2, readWeightsFile } from './weights.ts';
import { openFaceCachePath } from '../io/cachePaths.ts';

export const NET_NAMES = ['pnet', 'rnet', 'onet', 'nn2', 'nn4.small2.v1', 'mobilefacenet'] as const;
export type NetName = (typeof NET_NAMES)[number];

export function checkNetName(name: string): NetName {
  if (!(NET_NAMES as readonly string[]).includes(name)) throw new ArgumentError(`unknown net '${name}' (known: ${NET_NAMES.join(', ')})`);
  return name as NetName;
}

/** The declared net without weights (for summaries). */
export function declaredNet(name: NetName): Net {
  return { pnet: PNet, rnet: RNet, onet: ONet, nn2: NN2, 'nn4.small2.v1': () => Nn4Small2(), mobilefacenet: MobileFaceNet }[name]();
}

/** Input [C, H, W] of the summary: P-Net is fully convolutional, shown at its 12x12 receptive field. */
export function summaryInput(name: NetName): number[] {
  return name === 'pnet' ? [3, 12, 12] : declaredNet(name).input.map((d) => d ?? 12);
}

/**
 * The net with weights: the bundled ones for MTCNN and MobileFaceNet, `weights` otherwise.
 * For inspection nn4.small2.v1 keeps its batch norms as layers and accepts stand-in files.
 */
export function loadedNet(name: NetName, weights?: string): Net {
  switch (name) {
    case 'pnet':
    case 'rnet':
    case 'onet':
      return loadMtcnn(weights)[name];
    case 'mobilefacenet':
      return loadMobileFaceNet(weights);
    case 'nn4.small2.v1':
      return loadNn4Small2(weights ?? openFaceCachePath(), { batchNorm: true, allowStandIns: true });
    case 'nn2': {
      if (!weights) throw new ArgumentError('nn2 has no published weights: pass --weights FILE');
      return NN2().load(readWeightsFile(weights).tensors, weights);
    }
  }
}
