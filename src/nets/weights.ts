import { existsSync } from 'node:fs';
import { DEFAULT_MAX_BYTES } from '../io/limits.ts';
import { readBoundedFile } from '../io/readFile.ts';
import { bundledWeights } from '../paths.ts';
import { TsfaceError, WeightsError } from '../errors.ts';
import { readSafetensors, type SafetensorsFile } from '../tensor/safetensors.ts';
import { ONet, PNet, RNet } from './mtcnn.ts';
import { foldBatchNorm } from '../tensor/foldBatchNorm.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { Nn4Small2 } from './facenet.ts';
import { MobileFaceNet } from './mobilefacenet.ts';
import type { Net } from './net.ts';

export const BUNDLED_MTCNN = bundledWeights('mtcnn.safetensors');

export interface MtcnnNets {
  pnet: Net;
  rnet: Net;
  onet: Net;
}

/** A weights file by path (Node), or its bytes already in memory (fetched in a page, say). */
export type WeightsSource = string | Uint8Array;

/** What a WeightsError calls a source. */
export function weightsName(source: WeightsSource): string {
  return typeof source === 'string' ? source : `<${source.length}-byte weights>`;
}

/** Reads a weights file (a regular file of at most `maxBytes`), every failure a WeightsError naming it. */
export function readWeightsFile(file: WeightsSource, maxBytes: number = DEFAULT_MAX_BYTES.weights): SafetensorsFile {
  if (typeof file !== 'string') {
    if (file.length > maxBytes) throw new WeightsError(weightsName(file), null, `is over the limit of ${maxBytes} bytes`);
    return readSafetensors(file, weightsName(file));
  }
  const bytes = readBoundedFile(file, maxBytes, (reason) => new WeightsError(file, null, reason));
  return readSafetensors(bytes, file);
}

/** The three nets with weights from a tsface MTCNN safetensors file (the bundled one by default). */
export function loadMtcnn(source: WeightsSource = BUNDLED_MTCNN): MtcnnNets {
  const { tensors } = readWeightsFile(source);
  const file = weightsName(source);
  try {
    return { pnet: PNet().load(tensors, file), rnet: RNet().load(tensors, file), onet: ONet().load(tensors, file) };
  } catch (e) {
    if (e instanceof TsfaceError) throw e;
    throw new WeightsError(file, null, String(e));
  }
}

export const BUNDLED_MOBILEFACENET = bundledWeights('mobilefacenet.safetensors');

/** MobileFaceNet with weights from a tsface safetensors file (the bundled one by default). */
export function loadMobileFaceNet(source: WeightsSource = BUNDLED_MOBILEFACENET): Net {
  const { tensors } = readWeightsFile(source);
  return MobileFaceNet().load(tensors, weightsName(source));
}

/** The batch norm that follows a conv in the Inception nets' naming. */
function batchNormOf(convKey: string): string {
  const m = /^(.*\.)?(conv)(\d+)$/.exec(convKey);
  if (m) return `${m[1] ?? ''}bn${m[3]}`;
  return convKey.replace(/\.reduce$/, '.reduce_bn').replace(/\.conv$/, '.bn').replace(/\.proj$/, '.proj_bn');
}

export interface Nn4LoadOptions {
  /** Keep BatchNorm as separate layers (to observe them in a trace); folded into the convs by default. */
  batchNorm?: boolean;
  /** Accept a file whose missing tensors were filled with stand-ins (tests only: not OpenFace). */
  allowStandIns?: boolean;
}

/** nn4.small2.v1 from a tsface safetensors file (built by `tsface weights fetch openface` or the converter). */
export function loadNn4Small2(file: string, options: Nn4LoadOptions = {}): Net {
  if (!existsSync(file)) throw new WeightsError(file, null, 'not found: run `tsface weights fetch openface` (or convert a CSV dump with `tsface weights convert-openface`) first');
  const { tensors, metadata } = readWeightsFile(file);
  return nn4FromTensors(tensors, metadata, file, options);
}

export function nn4FromTensors(tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string>, file: string, options: Nn4LoadOptions = {}): Net {
  if (metadata.openface !== 'true' && !options.allowStandIns) {
    throw new WeightsError(file, null, `is not OpenFace nn4.small2.v1 (${metadata.stand_ins ?? `metadata openface=${metadata.openface ?? 'absent'}`}); tsface refuses to present its embeddings as OpenFace`);
  }
  const withBn = Nn4Small2({ batchNorm: true });
  withBn.load(tensors, file);
  if (options.batchNorm) return withBn;
  const target = Nn4Small2({ batchNorm: false });
  const shapes = new Map(target.expectedTensors().map((e) => [e.name, e.shape]));
  const isConv = (layer: string) => shapes.get(`${layer}.weight`)?.length === 4;
  const folded = new Map<string, Tensor>();
  for (const name of shapes.keys()) {
    const layer = name.slice(0, name.lastIndexOf('.'));
    if (!isConv(layer)) folded.set(name, tensors.get(name)!);
    else if (name.endsWith('.weight')) {
      const bn = batchNormOf(layer);
      const f = foldBatchNorm(tensors.get(`${layer}.weight`)!, tensors.get(`${layer}.bias`) ?? null, {
        gamma: tensors.get(`${bn}.weight`)!, beta: tensors.get(`${bn}.bias`)!, mean: tensors.get(`${bn}.mean`)!, variance: tensors.get(`${bn}.variance`)!, eps: 1e-5,
      });
      folded.set(`${layer}.weight`, f.weight);
      folded.set(`${layer}.bias`, f.bias);
    }
  }
  return target.load(folded, file);
}
