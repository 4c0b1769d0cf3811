// Valid inputs of every kind the fuzzer mutates, generated here so the suite needs no files.
import { deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { crc32 } from '../../src/io/crc32.ts';
import { writeSafetensors } from '../../src/tensor/safetensors.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { buildFlatBuffer, fb } from './flatbuffer.ts';
import { buildZip } from './zip.ts';

export const KINDS = ['jpeg', 'png', 'safetensors', 'tflite', 'csv', 'npy', 'npz', 'faceindex', 'lfw', 'crosscheck'] as const;
export type Kind = (typeof KINDS)[number];

const text = (s: string) => new TextEncoder().encode(s);

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  out.set(text(type), 4);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** A PNG with every row filter in turn (and Adam7 passes when interlaced). */
function png(width: number, height: number, colorType: number, depth: number, interlaced: boolean): Uint8Array {
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType]!;
  const bits = channels * depth;
  const passes = interlaced ? [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] : [[0, 0, 1, 1]];
  const raw: number[] = [];
  let row = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((width - x0) / dx);
    const ph = Math.ceil((height - y0) / dy);
    if (pw <= 0 || ph <= 0) continue;
    const bytes = Math.ceil((pw * bits) / 8);
    for (let y = 0; y < ph; y++, row++) {
      // Filter type cycles 0..4; the data bytes are arbitrary, which is what the decoder sees anyway.
      raw.push(row % 5);
      for (let i = 0; i < bytes; i++) raw.push(colorType === 3 ? (i * 7 + y) % 4 & (depth === 1 ? 1 : 3) : (i * 37 + y * 11) & 255);
    }
  }
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([depth, colorType, 0, 0, interlaced ? 1 : 0], 8);
  const parts = [Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr)];
  if (colorType === 3) parts.push(pngChunk('PLTE', Uint8Array.from({ length: 12 }, (_, i) => i * 20)));
  parts.push(pngChunk('tEXt', text('Comment\0tsface fuzz seed')));
  const z = deflateSync(Uint8Array.from(raw));
  // Two IDAT chunks, so chunk boundaries inside the zlib stream get mutated too.
  const half = z.length >> 1;
  parts.push(pngChunk('IDAT', z.subarray(0, half)), pngChunk('IDAT', z.subarray(half)), pngChunk('IEND', new Uint8Array(0)));
  return concat(parts);
}

function jpegSeed(width: number, height: number, quality: number): Uint8Array {
  const rgba = Uint8Array.from({ length: width * height * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 13 + (i >> 7)) & 255));
  return jpeg.encode({ data: rgba, width, height }, quality).data;
}

function npy(descr: string, shape: number[], data: Uint8Array): Uint8Array {
  const header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const padded = header.padEnd(Math.ceil((header.length + 11) / 64) * 64 - 11) + '\n';
  const out = new Uint8Array(10 + padded.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, padded.length & 255, padded.length >> 8]);
  out.set(text(padded), 10);
  out.set(data, 10 + padded.length);
  return out;
}

const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);

/** A zip as NumPy's savez writes one (stored or deflated members). */
function npz(members: [string, Uint8Array][], deflate: boolean): Uint8Array {
  return buildZip(members.map(([name, data]) => ({ name, data, deflate }))).bytes;
}

function tflite(): Uint8Array {
  const weights = new Uint8Array(new Float32Array([0.5, -1, 2, 0.25]).buffer);
  const tensor = (name: string, shape: number[], buffer: number) => fb.table(fb.int32s(...shape), fb.u8(0), fb.u32(buffer), fb.string(name));
  const model = fb.table(
    fb.u32(3),
    fb.tables(fb.table(fb.i32(3), null, null, fb.i32(3))), // CONV_2D
    fb.tables(fb.table(
      fb.tables(tensor('input', [1, 4, 4, 1], 0), tensor('conv/weights', [1, 2, 2, 1], 1), tensor('output', [1, 3, 3, 1], 0)),
      fb.int32s(0), fb.int32s(2), // inputs, outputs
      fb.tables(fb.table(fb.u32(0), fb.int32s(0, 1), fb.int32s(2), null, fb.table(fb.u8(1), fb.i32(1), fb.i32(1), fb.u8(0)))),
    )),
    fb.string('tsface fuzz seed'),
    fb.tables(fb.table(), fb.table(fb.bytes(weights))),
  );
  return buildFlatBuffer(model, 'TFL3');
}

/** Seeds by kind; several per kind so the mutator can splice between them. */
export function seedsFor(kind: Kind): Uint8Array[] {
  switch (kind) {
    case 'png':
      return [png(5, 3, 2, 8, false), png(9, 7, 6, 16, true), png(11, 4, 3, 2, true), png(6, 6, 0, 1, false), png(3, 9, 4, 8, true), png(8, 5, 0, 16, false)];
    case 'jpeg':
      return [jpegSeed(16, 16, 90), jpegSeed(23, 9, 50)];
    case 'safetensors':
      return [
        writeSafetensors({ 'pnet.conv1.weight': Tensor.fromArray([2, 1, 1, 2], [1, 2, 3, 4]), 'pnet.conv1.bias': Tensor.fromArray([2], [0.5, -0.5]) }, { format: 'pt' }),
        writeSafetensors({ embeddings: new Tensor([2, 3], Float32Array.from([1, 0, 0, 0, 1, 0])) }, { format: 'tsface-index-1', model: 'm', labels: '["a","b"]' }),
      ];
    case 'tflite':
      return [tflite()];
    case 'csv':
      return [text('0.5,-1.25,3\n4e-3,5,6\n'), text('1 2 3 4 5 6')];
    case 'npy':
      return [npy('<f4', [2, 3], f32([1, 2, 3, 4, 5, 6])), npy('<f8', [2], new Uint8Array(new Float64Array([0.25, -7]).buffer)), npy('|u1', [3], Uint8Array.from([0, 128, 255]))];
    case 'npz': {
      const members: [string, Uint8Array][] = [['input.npy', npy('<f4', [3], f32([1, 2, 3]))], ['conv1.npy', npy('<f4', [2, 2], f32([4, 5, 6, 7]))]];
      return [npz(members, false), npz(members, true)];
    }
    case 'faceindex':
      return [
        text(JSON.stringify({ format: 'tsface-index-1', model: 'mobilefacenet', dimension: 3, entries: [{ label: 'ann', embedding: [1, 0, 0] }, { label: 'bo', embedding: [0, 0.6, 0.8] }] })),
        seedsFor('safetensors')[1],
      ];
    case 'lfw':
      return [text('2 1\nAaron_Peirsol 1 2\nAbel_Pacheco 1 Ana_Guevara 4\nAdam_Scott 1 2\nZico 3 Zoe_Ball 1\n')];
    case 'crosscheck':
      return [
        text(JSON.stringify({ nets: { pnet: { input: { file: 'input.npy' }, layers: [{ name: 'conv1', file: 'conv1.npy' }, { name: 'prelu1', file: 'conv1.npy' }] } } })),
        text(JSON.stringify({ input: 'a description', input_file: 'input.npy', layers: [{ i: 0, name: 'conv1', file: 'conv1.npy' }] })),
      ];
  }
}
