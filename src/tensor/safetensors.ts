// safetensors: an 8-byte little-endian header length, a JSON header, then raw little-endian
// tensor bytes. Nothing in the file is trusted: every length and offset is checked before use.
import { WeightsError } from '../errors.ts';
import { shapeSize, Tensor } from './tensor.ts';

/** Header larger than this is refused before parsing (the format's own reference uses 100 MB). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, F64: 8, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const READABLE = new Set(['F32', 'F16']);

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/**
 * Reads every tensor, widened to float32; refuses malformed files and non-finite values, unless
 * `finite: false` leaves the values to a caller that checks them in its own terms (an index names
 * the entry, not the place in the tensor).
 */
export function readSafetensors(bytes: Uint8Array, file = '<memory>', options: { finite?: boolean } = {}): SafetensorsFile {
  if (bytes.length < 8) throw new WeightsError(file, null, `truncated: ${bytes.length} bytes, the header length alone needs 8`);
  // Every safetensors header is a JSON object, so byte 8 is '{'. Checking it first turns text or
  // random bytes into "not a safetensors file" instead of a complaint about a huge header length.
  if (bytes.length > 8 && bytes[8] !== 0x7b) throw new WeightsError(file, null, 'not a safetensors file (no JSON header after the 8-byte length)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) throw new WeightsError(file, null, `header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const hl = Number(headerLength);
  if (8 + hl > bytes.length) throw new WeightsError(file, null, `header length ${hl} runs past the end of the ${bytes.length}-byte file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + hl)));
  } catch (e) {
    throw new WeightsError(file, null, `header is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new WeightsError(file, null, 'header is not a JSON object');

  const dataStart = 8 + hl;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new WeightsError(file, null, '__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') throw new WeightsError(file, null, `metadata value "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info !== 'object' || info === null) throw new WeightsError(file, name, 'entry is not an object');
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) throw new WeightsError(file, name, `unknown dtype ${JSON.stringify(dtype)}`);
    if (!READABLE.has(dtype)) throw new WeightsError(file, name, `dtype ${dtype} is not supported (F32 and F16 are)`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new WeightsError(file, name, `invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new WeightsError(file, name, `invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLength) throw new WeightsError(file, name, `data_offsets [${begin}, ${end}] are outside the ${dataLength}-byte data section`);
    const expected = shapeSize(shape) * DTYPE_BYTES[dtype];
    if (end - begin !== expected) throw new WeightsError(file, name, `holds ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${expected}`);
    entries.push({ name, dtype, shape, begin, end });
  }
  // The format requires the tensors to tile the data section in order, without gaps or overlaps.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of entries) {
    if (e.begin !== cursor) {
      throw new WeightsError(file, e.name, e.begin < cursor ? `overlaps the previous tensor (offset ${e.begin} < ${cursor})` : `leaves a gap before it (offset ${e.begin}, expected ${cursor})`);
    }
    cursor = e.end;
  }
  if (cursor !== dataLength) throw new WeightsError(file, null, `data section has ${dataLength - cursor} trailing bytes no tensor describes`);

  const tensors = new Map<string, Tensor>();
  for (const e of entries) {
    const at = dataStart + e.begin;
    const count = shapeSize(e.shape);
    const data = new Float32Array(count);
    const dv = new DataView(bytes.buffer, bytes.byteOffset + at, e.end - e.begin);
    if (e.dtype === 'F32') for (let i = 0; i < count; i++) data[i] = dv.getFloat32(i * 4, true);
    else for (let i = 0; i < count; i++) data[i] = halfToFloat(dv.getUint16(i * 2, true));
    // A NaN or infinity in a weight poisons every output it reaches; refuse it here, by name.
    const bad = options.finite === false ? -1 : data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new WeightsError(file, e.name, `value ${bad} is ${data[bad]}: weights must be finite`);
    tensors.set(e.name, new Tensor(e.shape, data));
  }
  return { tensors, metadata };
}

/** IEEE 754 binary16 to a JS number (exact: every half is representable in float32). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Writes F32 tensors in name order with sorted header keys, so the same tensors and metadata
 * always give the same bytes (the weight converters rely on that to verify their output).
 */
export function writeSafetensors(tensors: ReadonlyMap<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const map = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
  const names = [...map.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    header.__metadata__ = Object.fromEntries(Object.keys(metadata).sort().map((k) => [k, metadata[k]]));
  }
  let offset = 0;
  for (const name of names) {
    const t = map.get(name)!;
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + t.size * 4] };
    offset += t.size * 4;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned, as the format recommends.
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const t = map.get(name)!;
    for (let i = 0; i < t.size; i++, at += 4) view.setFloat32(at, t.data[i], true);
  }
  return out;
}
