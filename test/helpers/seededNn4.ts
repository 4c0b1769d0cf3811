import type { Net } from '../../src/nets/net.ts';
import { Nn4Small2 } from '../../src/nets/facenet.ts';
import { seeded } from './seeded.ts';

/**
 * nn4.small2 (BN folded) with seeded weights, so a suite runs it without ../shared. Fan-in
 * scaling keeps activations of order one through the 20-odd layers.
 */
export function seededNn4(): Net {
  const nn4 = Nn4Small2({ batchNorm: false });
  return nn4.load(new Map(nn4.expectedTensors().map(({ name, shape }, k) => {
    const t = seeded([...shape], 100 + k);
    const fanIn = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    for (let i = 0; i < t.size; i++) t.data[i] *= 2 / Math.sqrt(fanIn);
    return [name, t];
  })), 'seeded');
}
