// What each kind of input is fed to: the library's real readers, with default limits. Each
// returns a short summary of what it accepted; a thrown TsfaceError is a clean refusal.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { parseCsvTensor } from '../../src/convert/openface.ts';
import { readTflite } from '../../src/convert/tflite.ts';
import { loadReference } from '../../src/inspect/crosscheck.ts';
import { decodeImage } from '../../src/image/decode.ts';
import { parsePairs } from '../../src/pipeline/lfw.ts';
import { FaceIndex } from '../../src/pipeline/verify.ts';
import { readNpy } from '../../src/tensor/npy.ts';
import { readNpz } from '../../src/tensor/npz.ts';
import { readSafetensors } from '../../src/tensor/safetensors.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';
import type { Kind } from './seeds.ts';

const digest = (data: ArrayBufferView) => createHash('sha1').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex').slice(0, 12);
const tensorSummary = (t: Tensor) => `[${t.shape.join('x')}] ${digest(t.data)}`;

let referenceFolder: string | undefined;

/** A folder with the .npy files the crosscheck seeds name; index.json is rewritten per case. */
function crosscheckFolder(): string {
  if (!referenceFolder) {
    referenceFolder = mkdtempSync(join(tmpdir(), 'tsface-fuzz-ref-'));
    const npy = (n: number) => {
      const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${n},), }`.padEnd(117) + '\n';
      return Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length, 0]), Buffer.from(header), Buffer.from(new Float32Array(n).fill(0.5).buffer)]);
    };
    writeFileSync(join(referenceFolder, 'input.npy'), npy(3));
    writeFileSync(join(referenceFolder, 'conv1.npy'), npy(4));
  }
  return referenceFolder;
}

export function runTarget(kind: Kind, bytes: Uint8Array): string {
  const text = () => new TextDecoder().decode(bytes);
  switch (kind) {
    case 'png':
    case 'jpeg': {
      const img = decodeImage(bytes, {}, `fuzz.${kind}`);
      return `${img.width}x${img.height} ${digest(img.data)}`;
    }
    case 'safetensors':
      return [...readSafetensors(bytes, 'fuzz.safetensors').tensors].map(([k, t]) => `${k} ${tensorSummary(t)}`).join('; ');
    case 'tflite': {
      const m = readTflite(bytes, 'fuzz.tflite');
      return `${m.tensors.length} tensors, ${m.operators.length} ops`;
    }
    case 'csv':
      return digest(parseCsvTensor(text(), 'fuzz.csv', 6));
    case 'npy':
      return tensorSummary(readNpy(bytes, 'fuzz.npy'));
    case 'npz':
      return [...readNpz(bytes, 'fuzz.npz')].map(([k, t]) => `${k} ${tensorSummary(t)}`).join('; ');
    case 'faceindex': {
      // JSON when it starts like JSON, else the safetensors form.
      const file = bytes[0] === 0x7b ? 'fuzz.json' : 'fuzz.safetensors';
      const index = FaceIndex.parse(bytes, file);
      return `${index.size} x ${index.dimension}`;
    }
    case 'lfw':
      return `${parsePairs(text(), '/tmp/tsface-fuzz-lfw', 'fuzz-pairs.txt').length} pairs`;
    case 'crosscheck': {
      const folder = crosscheckFolder();
      writeFileSync(join(folder, 'index.json'), bytes);
      const ref = loadReference(folder, 'pnet');
      return `${ref.layers.size} layers, input ${ref.input ? 'yes' : 'no'}`;
    }
  }
}
