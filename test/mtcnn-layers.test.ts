// P-Net, R-Net and O-Net with the converted weights, layer by layer, against the per-layer
// dumps of facenet-pytorch in ../shared/reference/mtcnn/layers.
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { loadMtcnn } from '../src/nets/weights.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { readNpy } from '../src/tensor/npy.ts';
import type { Tensor } from '../src/tensor/tensor.ts';
import { assertClose } from './helpers/compare.ts';
import { sharedPath, sharedSkip } from './helpers/shared.ts';

const DIR = 'reference/mtcnn/layers/';
const skip = sharedSkip(DIR);

describe('MTCNN layers against facenet-pytorch (../shared)', { skip }, () => {
  const backend = new CpuBackend({ threads: 1 });
  after(() => backend.dispose());
  const nets = loadMtcnn();
  const index = skip ? { nets: {} } : JSON.parse(readFileSync(sharedPath(DIR + 'index.json'), 'utf8'));
  for (const [key, spec] of Object.entries<any>(index.nets)) {
    test(key, async () => {
      const net = nets[spec.net as 'pnet'];
      const input = readNpy(readFileSync(sharedPath(DIR + spec.input.file)));
      const seen = new Map<string, Tensor>();
      const outputs = await net.forward(backend, input, (name, t) => seen.set(name, t));
      for (const layer of spec.layers) {
        const expected = readNpy(readFileSync(sharedPath(DIR + layer.file)));
        // The reference's 'flatten' is the (x, y, c) flatten of the transposed-image graph; tsface
        // flattens (c, y, x) and permutes the dense weights instead, so the layer after it is
        // where the two must agree.
        if (layer.name === 'flatten') continue;
        const got = seen.get(layer.name);
        if (!got) throw new Error(`${key}: no traced output named ${layer.name}`);
        assertClose(`${key}/${layer.name}`, got, expected);
      }
      if (outputs.prob === undefined) throw new Error('no prob head');
    });
  }
});
