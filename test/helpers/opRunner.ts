// How one case of the per-op PyTorch fixture runs on a backend: shared by the Node suites and
// the in-page suite (test/browser/runner.ts), so it imports no values from the library; the
// caller hands in its tensors and its foldBatchNorm.
import type { Backend } from '../../src/tensor/backend.ts';
import type { foldBatchNorm as FoldBatchNorm } from '../../src/tensor/foldBatchNorm.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';

export interface Case {
  name: string;
  op: string;
  options: Record<string, any>;
  inputs: string[];
  params: string[];
}

export async function runOpCase(backend: Backend, c: Case, t: (c: Case, k: string) => Tensor, foldBatchNorm: typeof FoldBatchNorm): Promise<Tensor> {
  const x = t(c, 'input');
  const o = c.options;
  switch (c.op) {
    case 'conv2d':
      return backend.conv2d(x, t(c, 'weight'), c.params.includes('bias') ? t(c, 'bias') : null, o);
    case 'maxPool2d':
    case 'avgPool2d':
    case 'l2Pool2d':
      return backend[c.op as 'maxPool2d'](x, o as any);
    case 'lrn':
      return backend.lrn(x, o as any);
    case 'prelu':
      return backend.prelu(x, t(c, 'alpha'));
    case 'relu':
      return backend.relu(x);
    case 'batchNorm':
      return backend.batchNorm(x, { mean: t(c, 'mean'), variance: t(c, 'variance'), gamma: t(c, 'weight'), beta: t(c, 'bias'), eps: o.eps });
    case 'convBatchNormFold': {
      const folded = foldBatchNorm(t(c, 'weight'), t(c, 'bias'), {
        mean: t(c, 'bn_mean'), variance: t(c, 'bn_variance'), gamma: t(c, 'bn_weight'), beta: t(c, 'bn_bias'), eps: o.eps,
      });
      return backend.conv2d(x, folded.weight, folded.bias, { padding: o.padding });
    }
    case 'dense':
      return backend.dense(x, t(c, 'weight'), t(c, 'bias'));
    case 'softmax':
      return backend.softmax(x);
    case 'l2Normalize':
      return backend.l2Normalize(x, 1e-12);
    case 'concat':
      return backend.concat([x, t(c, 'input1'), t(c, 'input2')]);
    case 'add':
      return backend.add(x, t(c, 'input1'));
    case 'pad2d':
      return backend.pad2d(x, o.padding);
    default:
      throw new Error(`unknown op ${c.op}`);
  }
}

