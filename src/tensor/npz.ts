// .npz reader: a zip of .npy files, entries stored or deflated. Only what NumPy writes: no
// encryption, no multi-disk archives, sizes within the 32-bit fields (NumPy adds a zip64 extra
// field to each local header, which is read, but never needs zip64 sizes for arrays under 4 GB).
// Nothing in the archive is trusted: the central directory must agree with the end record and
// with every local header, each member's CRC-32 is checked, and inflating stops at the size
// the directory declares, itself bounded by `maxBytes`.
import { inflateRawSync } from 'node:zlib';
import { DEFAULT_MAX_BYTES } from '../io/limits.ts';
import { crc32 } from '../io/crc32.ts';
import { NpyError, readNpy } from './npy.ts';
import type { Tensor } from './tensor.ts';

interface Member {
  name: string;
  method: number;
  crc: number;
  compressed: number;
  size: number;
  local: number;
}

export interface NpzOptions {
  /** Largest array (inflated member) accepted, in bytes. */
  maxBytes?: number;
}

export function readNpz(bytes: Uint8Array, file = '<memory>', options: NpzOptions = {}): Map<string, Tensor> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES.array;
  const fail = (message: string): never => { throw new NpyError(file, message); };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // End of central directory: signature 0x06054b50 within the last 64 KiB + 22 bytes, and its
  // comment must run exactly to the end of the file (a signature inside a comment does not).
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 65558); i--) {
    if (view.getUint32(i, true) === 0x06054b50 && i + 22 + view.getUint16(i + 20, true) === bytes.length) { eocd = i; break; }
  }
  if (eocd < 0) fail('not a zip (.npz) file: no end-of-central-directory record');
  const disk = view.getUint16(eocd + 4, true);
  const cdDisk = view.getUint16(eocd + 6, true);
  const onDisk = view.getUint16(eocd + 8, true);
  const count = view.getUint16(eocd + 10, true);
  const cdSize = view.getUint32(eocd + 12, true);
  const cdStart = view.getUint32(eocd + 16, true);
  if (disk !== 0 || cdDisk !== 0 || onDisk !== count) fail('multi-disk zip archives are not supported');
  if (cdStart + cdSize !== eocd) fail(`central directory (offset ${cdStart}, ${cdSize} bytes) does not end where the end record starts (${eocd})`);
  const members: Member[] = [];
  let at = cdStart;
  for (let e = 0; e < count; e++) {
    if (at + 46 > eocd || view.getUint32(at, true) !== 0x02014b50) fail(`corrupt central directory at entry ${e}`);
    const flags = view.getUint16(at + 8, true);
    const needs = view.getUint8(at + 6); // its high byte is the host system, not a version
    const nameLen = view.getUint16(at + 28, true);
    const extraLen = view.getUint16(at + 30, true);
    const commentLen = view.getUint16(at + 32, true);
    if (at + 46 + nameLen + extraLen + commentLen > eocd) fail(`central directory entry ${e} runs past the directory`);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLen));
    // Python's zipfile (what np.load uses) refuses the same: encryption (bits 0 and 6) and
    // compressed patched data (bit 5).
    if (flags & 0x61) fail(`${name}: encrypted or patched members are not supported (flags ${flags})`);
    // The version needed to extract, as zipfile checks it: 6.3 is the newest the format defines.
    if (needs > 63) fail(`${name}: needs zip version ${(needs / 10).toFixed(1)} to extract (6.3 at most is supported)`);
    members.push({
      name, method: view.getUint16(at + 10, true), crc: view.getUint32(at + 16, true),
      compressed: view.getUint32(at + 20, true), size: view.getUint32(at + 24, true), local: view.getUint32(at + 42, true),
    });
    at += 46 + nameLen + extraLen + commentLen;
  }
  if (at !== eocd) fail(`central directory holds more than the ${count} entries the end record declares`);

  const out = new Map<string, Tensor>();
  const spans: [number, number, string][] = [];
  for (const m of members) {
    const { name } = m;
    if (m.local + 30 > cdStart || view.getUint32(m.local, true) !== 0x04034b50) fail(`${name}: corrupt local header`);
    const localNameLen = view.getUint16(m.local + 26, true);
    const localExtraLen = view.getUint16(m.local + 28, true);
    const localName = new TextDecoder().decode(bytes.subarray(m.local + 30, m.local + 30 + localNameLen));
    const localFlags = view.getUint16(m.local + 6, true);
    if (localFlags & 0x61) fail(`${name}: encrypted or patched members are not supported (flags ${localFlags})`);
    if (localName !== name) fail(`local header names '${localName}', the central directory '${name}'`);
    if (view.getUint16(m.local + 8, true) !== m.method) fail(`${name}: local header and central directory disagree on the compression method`);
    // With a data descriptor (flag bit 3) the local header's CRC and sizes are zero.
    if (!(localFlags & 8)) {
      const localCrc = view.getUint32(m.local + 14, true);
      const localCompressed = view.getUint32(m.local + 18, true);
      const localSize = view.getUint32(m.local + 22, true);
      const zip64 = localCompressed === 0xffffffff || localSize === 0xffffffff;
      if (localCrc !== m.crc || (!zip64 && (localCompressed !== m.compressed || localSize !== m.size))) {
        fail(`${name}: local header and central directory disagree on the CRC or sizes`);
      }
    }
    const start = m.local + 30 + localNameLen + localExtraLen;
    if (start + m.compressed > cdStart) fail(`${name}: member data runs into the central directory (truncated or corrupt)`);
    spans.push([m.local, start + m.compressed, name]);
    if (m.size > maxBytes) fail(`${name}: inflates to ${m.size} bytes, over the limit of ${maxBytes}`);
    const raw = bytes.subarray(start, start + m.compressed);
    let data: Uint8Array = raw;
    if (m.method === 8) {
      try {
        // One byte more than declared: a member that inflates to more is caught, not grown.
        data = inflateRawSync(raw, { maxOutputLength: m.size + 1 });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        fail(`${name}: ${code === 'ERR_BUFFER_TOO_LARGE' ? `inflates to more than the declared ${m.size} bytes` : `corrupt deflate data (${(err as Error).message})`}`);
      }
    } else if (m.method !== 0) fail(`${name}: compression method ${m.method} is not supported (stored and deflate are)`);
    if (data.length !== m.size) fail(`${name}: holds ${data.length} bytes, the central directory declares ${m.size}`);
    if (crc32(data) !== m.crc) fail(`${name}: CRC-32 does not match (corrupt member data)`);
    const key = name.replace(/\.npy$/, '');
    if (out.has(key)) fail(`two members named '${name}'`);
    out.set(key, readNpy(data, `${file}:${name}`));
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) if (spans[i][0] < spans[i - 1][1]) fail(`members '${spans[i - 1][2]}' and '${spans[i][2]}' overlap`);
  return out;
}
