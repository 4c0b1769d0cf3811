// The same nets as tf.js programs, for the benchmark's anchors: walks a tsface Net's layers and
// emits the matching tf ops (NHWC). Weights are transposed once. Speed comparisons only: pooling
// in Caffe ceil mode is approximated with 'same' padding, and dense layers take tf's NHWC flatten.
import type * as TF from '@tensorflow/tfjs-core';
import { PReLU, ReLU, Softmax } from '../../src/layers/activation.ts';
import { Branches, Residual, Sequential } from '../../src/layers/containers.ts';
import { Conv2d, Dense } from '../../src/layers/conv.ts';
import type { Layer } from '../../src/layers/layer.ts';
import { BatchNorm, L2Normalize, LRN, ZeroPad2d } from '../../src/layers/normalization.ts';
import { AvgPool2d, L2Pool2d, MaxPool2d } from '../../src/layers/pool.ts';
import type { Net } from '../../src/nets/net.ts';
import { pair, padding4, pooledSize } from '../../src/tensor/geometry.ts';

type Fn = (x: TF.Tensor4D) => TF.Tensor;

export function tfjsNet(tf: typeof TF, net: Net): (x: TF.Tensor4D) => TF.Tensor[] {
  const compile = (layer: Layer): Fn => {
    if (layer instanceof Sequential) {
      const steps = layer.children.map(compile);
      return (x) => steps.reduce((y, f) => f(y as TF.Tensor4D), x as TF.Tensor);
    }
    if (layer instanceof Branches) {
      const branches = layer.children.map(compile);
      return (x) => tf.concat(branches.map((b) => b(x) as TF.Tensor4D), 3);
    }
    if (layer instanceof Residual) {
      const body = compile(layer.children[0]);
      return (x) => tf.add(body(x), x);
    }
    if (layer instanceof Conv2d) {
      const w = layer.params.get('weight')!;
      const [o, i, kh, kw] = w.shape;
      const depthwise = (layer.spec.groups ?? 1) > 1;
      // OIHW -> HWIO (conv) or HWC1 (depthwise).
      const hwio = new Float32Array(w.size);
      for (let a = 0; a < o; a++) for (let c = 0; c < i; c++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
        hwio[depthwise ? (y * kw + x) * o + a : ((y * kw + x) * i + c) * o + a] = w.data[((a * i + c) * kh + y) * kw + x];
      }
      const filter = depthwise ? tf.tensor4d(hwio, [kh, kw, o, 1]) : tf.tensor4d(hwio, [kh, kw, i, o]);
      const bias = tf.tensor1d(layer.params.get('bias')?.data ?? new Float32Array(o));
      const [t, b, l, r] = layer.padding;
      const s = layer.spec.stride ?? 1;
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [t, b], [l, r], [0, 0]];
      return (x) => tf.add(depthwise ? tf.depthwiseConv2d(tf.pad(x, pad), filter as TF.Tensor4D, s, 'valid') : tf.conv2d(x, filter as TF.Tensor4D, s, pad), bias);
    }
    if (layer instanceof PReLU) {
      const alpha = tf.tensor1d(layer.params.get('alpha')!.data);
      return (x) => tf.prelu(x, alpha as unknown as TF.Tensor4D);
    }
    if (layer instanceof ReLU) return (x) => tf.relu(x);
    if (layer instanceof Softmax) return (x) => tf.softmax(x);
    if (layer instanceof L2Normalize) return (x) => tf.div(x, tf.norm(x, 2, -1, true));
    if (layer instanceof BatchNorm) {
      const p = (n: string) => tf.tensor1d(layer.params.get(n)!.data);
      return (x) => tf.batchNorm(x, p('mean'), p('variance'), p('bias'), p('weight'), layer.eps);
    }
    if (layer instanceof LRN) {
      const o = layer.options;
      return (x) => tf.localResponseNormalization(x, Math.floor(o.size / 2), o.k, o.alpha / o.size, o.beta);
    }
    if (layer instanceof ZeroPad2d) {
      const [t, b, l, r] = layer.padding;
      return (x) => tf.pad(x, [[0, 0], [t, b], [l, r], [0, 0]]);
    }
    if (layer instanceof MaxPool2d || layer instanceof AvgPool2d || layer instanceof L2Pool2d) {
      const k = pair(layer.options.kernel, 1);
      const s = pair(layer.options.stride ?? layer.options.kernel, 1);
      const p = padding4(layer.options.padding)[0];
      const ceil = layer.options.ceilMode ?? false;
      // Caffe ceil mode: pad bottom/right by the overhang of the last window, then pool 'valid'.
      const prepare = (x: TF.Tensor4D): TF.Tensor4D => {
        if (!ceil) return x;
        const [, h, w] = x.shape;
        const extra = (size: number, kk: number, ss: number) => Math.max(0, (pooledSize(size, kk, ss, p, p, true) - 1) * ss + kk - size - 2 * p);
        return tf.pad(x, [[0, 0], [0, extra(h, k[0], s[0])], [0, extra(w, k[1], s[1])], [0, 0]]);
      };
      if (layer instanceof MaxPool2d) return (x) => tf.maxPool(prepare(x), k, s, p);
      if (layer instanceof AvgPool2d) return (x) => tf.avgPool(prepare(x), k, s, p);
      return (x) => tf.sqrt(tf.mul(tf.avgPool(tf.square(prepare(x)), k, s, p), k[0] * k[1]));
    }
    if (layer instanceof Dense) {
      const w = layer.params.get('weight')!;
      const wt = tf.transpose(tf.tensor2d(w.data, [w.shape[0], w.shape[1]]));
      const bias = tf.tensor1d(layer.params.get('bias')!.data);
      return (x) => tf.add(tf.matMul(tf.reshape(x, [x.shape[0], -1]), wt), bias);
    }
    throw new Error(`no tf.js form for ${layer.op}`);
  };
  const trunk = compile(net.trunk);
  const heads = Object.values(net.heads).map(compile);
  return (x) => {
    const features = trunk(x) as TF.Tensor4D;
    return heads.length ? heads.map((h) => h(features)) : [features];
  };
}
