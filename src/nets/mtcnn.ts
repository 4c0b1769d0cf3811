// MTCNN's three nets (Zhang et al. 2016), in the NCHW layout of a normal (not transposed)
// image. Max pooling is Caffe's ceil mode; the dense layers take the plain (c, y, x) flatten
// (the converter permutes the original (x, y, c) weights once).
import { PReLU, Softmax } from '../layers/activation.ts';
import { Conv2d, Dense } from '../layers/conv.ts';
import { MaxPool2d } from '../layers/pool.ts';
import { Net } from './net.ts';

const conv = (name: string, inC: number, outC: number, k: number) => new Conv2d(name, { in: inC, out: outC, kernel: k });
const pool = (name: string, k: number, s: number) => new MaxPool2d(name, { kernel: k, stride: s, ceilMode: true });

/** P-Net: fully convolutional, 12x12 receptive field, one cell per 2 pixels. */
export function PNet(): Net {
  return new Net('pnet', [3, null, null], [
    conv('conv1', 3, 10, 3), new PReLU('prelu1', 10), pool('pool1', 2, 2),
    conv('conv2', 10, 16, 3), new PReLU('prelu2', 16),
    conv('conv3', 16, 32, 3), new PReLU('prelu3', 32),
  ], {
    prob: [conv('conv4_1', 32, 2, 1), new Softmax('softmax4_1')],
    box: [conv('conv4_2', 32, 4, 1)],
  }, { stride: 2, field: 12 });
}

/** R-Net: refines P-Net's candidates on 24x24 crops. */
export function RNet(): Net {
  return new Net('rnet', [3, 24, 24], [
    conv('conv1', 3, 28, 3), new PReLU('prelu1', 28), pool('pool1', 3, 2),
    conv('conv2', 28, 48, 3), new PReLU('prelu2', 48), pool('pool2', 3, 2),
    conv('conv3', 48, 64, 2), new PReLU('prelu3', 64),
    new Dense('dense4', 576, 128), new PReLU('prelu4', 128),
  ], {
    prob: [new Dense('dense5_1', 128, 2), new Softmax('softmax5_1')],
    box: [new Dense('dense5_2', 128, 4)],
  });
}

/** O-Net: final boxes, scores and five landmarks on 48x48 crops. */
export function ONet(): Net {
  return new Net('onet', [3, 48, 48], [
    conv('conv1', 3, 32, 3), new PReLU('prelu1', 32), pool('pool1', 3, 2),
    conv('conv2', 32, 64, 3), new PReLU('prelu2', 64), pool('pool2', 3, 2),
    conv('conv3', 64, 64, 3), new PReLU('prelu3', 64), pool('pool3', 2, 2),
    conv('conv4', 64, 128, 2), new PReLU('prelu4', 128),
    new Dense('dense5', 1152, 256), new PReLU('prelu5', 256),
  ], {
    prob: [new Dense('dense6_1', 256, 2), new Softmax('softmax6_1')],
    box: [new Dense('dense6_2', 256, 4)],
    landmarks: [new Dense('dense6_3', 256, 10)],
  });
}
