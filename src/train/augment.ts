// Augmentation of an aligned crop, drawn from the run's generator: a horizontal flip half of the
// time and a shift of up to `jitter` pixels each way (edge pixels repeated), a small stand-in for
// the detector's landmark noise. The net's input tensor is filled directly.
import type { EmbeddingModelSpec } from '../pipeline/embed.ts';
import type { RgbImage } from '../image/decode.ts';
import { Tensor } from '../tensor/tensor.ts';
import type { Random } from './random.ts';

export interface Augmentation {
  flip: boolean;
  dx: number;
  dy: number;
}

export const NO_AUGMENTATION: Augmentation = { flip: false, dx: 0, dy: 0 };

export function drawAugmentation(rng: Random, jitter: number): Augmentation {
  const flip = rng.next() < 0.5;
  const dx = jitter > 0 ? rng.int(2 * jitter + 1) - jitter : 0;
  const dy = jitter > 0 ? rng.int(2 * jitter + 1) - jitter : 0;
  return { flip, dx, dy };
}

/** Crops as one NCHW batch in the model's input scale, each moved and mirrored as `augs` say. */
export function cropsToTensor(crops: readonly RgbImage[], augs: readonly Augmentation[], model: Pick<EmbeddingModelSpec, 'size' | 'normalize'>): Tensor {
  const s = model.size;
  const plane = s * s;
  const x = new Tensor([crops.length, 3, s, s]);
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) table[v] = model.normalize(v);
  const clamp = (v: number) => (v < 0 ? 0 : v >= s ? s - 1 : v);
  crops.forEach((crop, n) => {
    const { flip, dx, dy } = augs[n];
    for (let y = 0; y < s; y++) {
      const sy = clamp(y - dy);
      for (let xo = 0; xo < s; xo++) {
        const sx = clamp((flip ? s - 1 - xo : xo) - dx);
        const from = (sy * s + sx) * 3;
        const to = y * s + xo;
        for (let c = 0; c < 3; c++) x.data[(n * 3 + c) * plane + to] = table[crop.data[from + c]];
      }
    }
  });
  return x;
}
