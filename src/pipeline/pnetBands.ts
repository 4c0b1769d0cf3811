// P-Net over a large pyramid level in horizontal bands, so that its activations (10 to 32 float
// channels: about 100 bytes per level pixel when the whole level runs at once) never exceed a band's
// worth, and a 12-megapixel photo does not cost a gigabyte. The maps come out bit for bit as from
// one pass: P-Net is fully convolutional, output row y sees input rows 2y .. 2y + 11, and a band
// that starts on an even input row keeps the pooling windows where the whole level has them.
import type { Net } from '../nets/net.ts';
import type { Backend } from '../tensor/backend.ts';
import { Tensor } from '../tensor/tensor.ts';

/** Input pixels of one band (about 25 MB of activations); levels up to twice this run whole. */
export const PNET_BAND_PIXELS = 1 << 18;

/** Rows [from, to) of an NCHW tensor, copied. */
function rows(x: Tensor, from: number, to: number): Tensor {
  const [n, c, h, w] = x.shape;
  const out = new Tensor([n, c, to - from, w]);
  for (let p = 0; p < n * c; p++) out.data.set(x.data.subarray((p * h + from) * w, (p * h + to) * w), p * (to - from) * w);
  return out;
}

/** Stacks NCHW tensors of equal N, C and W along H. */
function stackRows(parts: Tensor[]): Tensor {
  const [n, c, , w] = parts[0].shape;
  const h = parts.reduce((s, t) => s + t.shape[2], 0);
  const out = new Tensor([n, c, h, w]);
  for (let p = 0; p < n * c; p++) {
    let at = p * h * w;
    for (const t of parts) {
      const th = t.shape[2];
      out.data.set(t.data.subarray(p * th * w, (p + 1) * th * w), at);
      at += th * w;
    }
  }
  return out;
}

/** P-Net's `prob` and `box` maps of one pyramid level, whole or in bands of at most `bandPixels` input pixels. */
export async function pnetMaps(pnet: Net, backend: Backend, input: Tensor, bandPixels = PNET_BAND_PIXELS): Promise<{ prob: Tensor; box: Tensor }> {
  const [, , h, w] = input.shape;
  if (h * w <= 2 * bandPixels) {
    const { prob, box } = await pnet.forward(backend, input);
    return { prob, box };
  }
  // Output rows per band; a band of R output rows reads 2R + 10 input rows.
  const perBand = Math.max(4, Math.floor((bandPixels / w - 10) / 2));
  const probs: Tensor[] = [];
  const boxes: Tensor[] = [];
  for (let first = 0; ; ) {
    const end = Math.min(h, 2 * (first + perBand) + 10);
    const { prob, box } = await pnet.forward(backend, rows(input, 2 * first, end));
    probs.push(prob);
    boxes.push(box);
    first += prob.shape[2];
    if (end === h) break;
  }
  return { prob: stackRows(probs), box: stackRows(boxes) };
}
