// Zip archives as NumPy's savez writes them (stored or deflated members, CRCs, the central
// directory and its end record), built field by field so that tests and the fuzzer can damage each
// one; offsets of the parts come back with the bytes.
import { deflateRawSync } from 'node:zlib';
import { crc32 } from '../../src/io/crc32.ts';

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface ZipEntry { name: string; data: Uint8Array; deflate: boolean }

/** A zip the way NumPy writes one, built field by field so each can be damaged. */
export function buildZip(entries: ZipEntry[]): { bytes: Uint8Array; centralAt: number; eocdAt: number; localAt: number[] } {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  const localAt: number[] = [];
  let offset = 0;
  for (const e of entries) {
    const body = e.deflate ? deflateRawSync(e.data) : e.data;
    const name = new TextEncoder().encode(e.name);
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true); lv.setUint16(4, 20, true); lv.setUint16(8, e.deflate ? 8 : 0, true);
    lv.setUint32(14, crc32(e.data), true); lv.setUint32(18, body.length, true); lv.setUint32(22, e.data.length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const cd = new Uint8Array(46 + name.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true); cv.setUint16(4, 20, true); cv.setUint16(6, 20, true); cv.setUint16(10, e.deflate ? 8 : 0, true);
    cv.setUint32(16, crc32(e.data), true); cv.setUint32(20, body.length, true); cv.setUint32(24, e.data.length, true);
    cv.setUint16(28, name.length, true); cv.setUint32(42, offset, true);
    cd.set(name, 46);
    localAt.push(offset);
    parts.push(local, body);
    central.push(cd);
    offset += local.length + body.length;
  }
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true); ev.setUint16(8, entries.length, true); ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true); ev.setUint32(16, offset, true);
  return { bytes: concat([...parts, ...central, eocd]), centralAt: offset, eocdAt: offset + cdSize, localAt };
}
