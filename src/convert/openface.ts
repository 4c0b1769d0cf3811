// OpenFace nn4.small2.v1 from the CSV dump of vsyw/Keras-OpenFace (one row of %.14g floats per
// tensor; conv weights in Torch (out, in, kh, kw) order; BN _w gamma, _b beta, _m mean, _v
// variance) onto the net declared in src/nets/facenet.ts. Tensors the dump lacks are listed
// and refused, unless seeded stand-ins are asked for, which the metadata then records.
import { existsSync, readdirSync } from 'node:fs';
import { DEFAULT_MAX_BYTES } from '../io/limits.ts';
import { readBoundedText } from '../io/readFile.ts';
import { join } from 'node:path';
import { Nn4Small2 } from '../nets/facenet.ts';
import { WeightsError } from '../errors.ts';
import { parseCsvNumbers } from './csvNumbers.ts';
import { Tensor } from '../tensor/tensor.ts';

export const OPENFACE_SOURCE = {
  repository: 'vsyw/Keras-OpenFace',
  commit: '1445ea5d1c98c136cdbb72052427e083108e9a51',
  folder: 'weights',
  licence: 'Apache-2.0 (OpenFace, CMU; Keras-OpenFace dump by vsyw)',
};

/** The CSV file (without .csv) that holds a tsface tensor name, e.g. nn4.inception_3a.3x3.reduce.weight. */
export function csvNameFor(tensor: string): string {
  const parts = tensor.split('.').slice(1);
  const param = parts.pop()!;
  const bnSuffix: Record<string, string> = { weight: 'w', bias: 'b', mean: 'm', variance: 'v' };
  const convSuffix: Record<string, string> = { weight: 'w', bias: 'b' };
  if (parts.length === 1) {
    const [layer] = parts;
    return `${layer}_${(layer.startsWith('bn') ? bnSuffix : convSuffix)[param]}`;
  }
  const [block, branch, layer] = parts;
  const csvLayer: Record<string, string> = {
    reduce: 'conv1', reduce_bn: 'bn1', conv: branch === '1x1' ? 'conv' : 'conv2', bn: branch === '1x1' ? 'bn' : 'bn2', proj: 'conv', proj_bn: 'bn',
  };
  const isBn = layer.endsWith('bn');
  return `${block}_${branch}_${csvLayer[layer]}_${(isBn ? bnSuffix : convSuffix)[param]}`;
}

/**
 * Parses one CSV tensor: each field as Python's float() reads it (the reference reader; see
 * csvNumbers.ts for where tsface is stricter), rounded once to float32 (bit-exact for %.14g of
 * float32). A field that is not a number is refused with its line and field.
 */
export function parseCsvTensor(text: string, file: string, expected: number): Float32Array {
  return parseCsvNumbers(text, file, expected);
}

/**
 * Deterministic stand-in values (uniform, variance 1/fan-in) from a 32-bit LCG; the PyTorch
 * reference script generates the same numbers.
 */
export function standIn(shape: readonly number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const fanIn = shape.length > 1 ? n / shape[0] : 1;
  const scale = Math.sqrt(3 / fanIn);
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

export interface OpenFaceConversion {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
  missing: string[];
  unused: string[];
}

export function convertOpenFaceCsv(dir: string, options: { standInSeed?: number } = {}): OpenFaceConversion {
  if (!existsSync(dir)) throw new WeightsError(dir, null, 'CSV folder does not exist');
  const files = new Set(readdirSync(dir).filter((f) => f.endsWith('.csv')).map((f) => f.slice(0, -4)));
  const tensors = new Map<string, Tensor>();
  const missing: string[] = [];
  const used = new Set<string>();
  for (const e of Nn4Small2().expectedTensors()) {
    const csv = csvNameFor(e.name);
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (!files.has(csv)) {
      missing.push(csv);
      if (options.standInSeed !== undefined) tensors.set(e.name, new Tensor(e.shape, standIn(e.shape, options.standInSeed + missing.length)));
      continue;
    }
    used.add(csv);
    const path = join(dir, `${csv}.csv`);
    tensors.set(e.name, new Tensor(e.shape, parseCsvTensor(readBoundedText(path, DEFAULT_MAX_BYTES.text, (reason) => new WeightsError(path, null, reason)), path, size)));
  }
  if (missing.length && options.standInSeed === undefined) {
    throw new WeightsError(dir, null, `${missing.length} tensors are missing: ${missing.join(', ')} (pass stand-ins explicitly to build a test file that is not OpenFace)`);
  }
  const metadata: Record<string, string> = {
    format: 'tsface-nn4.small2.v1-1',
    source: `github:${OPENFACE_SOURCE.repository}@${OPENFACE_SOURCE.commit}/${OPENFACE_SOURCE.folder}`,
    licence: OPENFACE_SOURCE.licence,
    layout: 'NCHW, conv OIHW (Torch order), BN weight/bias/mean/variance (eps 1e-5); input RGB / 255, 96x96',
    openface: missing.length ? 'false' : 'true',
  };
  if (missing.length) metadata.stand_ins = `${missing.join(',')} (seed ${options.standInSeed}): NOT OpenFace, for tests only`;
  return { tensors, metadata, missing, unused: [...files].filter((f) => !used.has(f)).sort() };
}
