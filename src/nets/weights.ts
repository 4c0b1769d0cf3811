import { readFileSync } from 'node:fs';
import { bundledWeights } from '../paths.ts';
import { TsfaceError, WeightsError } from '../tensor/errors.ts';
import { readSafetensors, type SafetensorsFile } from '../tensor/safetensors.ts';
import { ONet, PNet, RNet } from './mtcnn.ts';
import { MobileFaceNet } from './mobilefacenet.ts';
import type { Net } from './net.ts';

export const BUNDLED_MTCNN = bundledWeights('mtcnn.safetensors');

export interface MtcnnNets {
  pnet: Net;
  rnet: Net;
  onet: Net;
}

/** Reads a weights file, every failure a WeightsError naming it. */
export function readWeightsFile(file: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new WeightsError(file, null, `cannot be read: ${(e as Error).message}`);
  }
  return readSafetensors(bytes, file);
}

/** The three nets with weights from a tsface MTCNN safetensors file (the bundled one by default). */
export function loadMtcnn(file = BUNDLED_MTCNN): MtcnnNets {
  const { tensors } = readWeightsFile(file);
  try {
    return { pnet: PNet().load(tensors, file), rnet: RNet().load(tensors, file), onet: ONet().load(tensors, file) };
  } catch (e) {
    if (e instanceof TsfaceError) throw e;
    throw new WeightsError(file, null, String(e));
  }
}

export const BUNDLED_MOBILEFACENET = bundledWeights('mobilefacenet.safetensors');

/** MobileFaceNet with weights from a tsface safetensors file (the bundled one by default). */
export function loadMobileFaceNet(file = BUNDLED_MOBILEFACENET): Net {
  const { tensors } = readWeightsFile(file);
  return MobileFaceNet().load(tensors, file);
}
