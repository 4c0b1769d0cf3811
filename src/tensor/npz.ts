// .npz reader: a zip of .npy files, entries stored or deflated (node:zlib). Only what NumPy
// writes: no zip64 beyond the 32-bit fields, no encryption.
import { inflateRawSync } from 'node:zlib';
import { NpyError, readNpy } from './npy.ts';
import type { Tensor } from './tensor.ts';

export function readNpz(bytes: Uint8Array, file = '<memory>'): Map<string, Tensor> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // End of central directory: signature 0x06054b50 within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 65558); i--) {
    if (view.getUint32(i, true) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new NpyError(file, 'not a zip (.npz) file: no end-of-central-directory record');
  const count = view.getUint16(eocd + 10, true);
  let at = view.getUint32(eocd + 16, true);
  const out = new Map<string, Tensor>();
  for (let e = 0; e < count; e++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== 0x02014b50) throw new NpyError(file, `corrupt central directory at entry ${e}`);
    const method = view.getUint16(at + 10, true);
    const compressed = view.getUint32(at + 20, true);
    const nameLen = view.getUint16(at + 28, true);
    const extraLen = view.getUint16(at + 30, true);
    const commentLen = view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLen));
    at += 46 + nameLen + extraLen + commentLen;
    if (local + 30 > bytes.length || view.getUint32(local, true) !== 0x04034b50) throw new NpyError(file, `${name}: corrupt local header`);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (start + compressed > bytes.length) throw new NpyError(file, `${name}: truncated`);
    const raw = bytes.subarray(start, start + compressed);
    let data: Uint8Array;
    if (method === 0) data = raw;
    else if (method === 8) {
      try {
        data = inflateRawSync(raw);
      } catch (err) {
        throw new NpyError(file, `${name}: corrupt deflate data (${(err as Error).message})`);
      }
    } else throw new NpyError(file, `${name}: compression method ${method} is not supported (stored and deflate are)`);
    out.set(name.replace(/\.npy$/, ''), readNpy(data, `${file}:${name}`));
  }
  return out;
}
