// NumPy .npy reader (format 1.0/2.0/3.0): little-endian f4, f8 or u1, C order. Values become
// float32. Big-endian data and Fortran order are refused rather than silently misread; the
// header is read as np.load reads it (npyHeader.ts), malformed headers refused as it refuses them.
import { TsfaceError } from '../errors.ts';
import { parseNpyHeader, type NpyHeader } from './npyHeader.ts';
import { Tensor } from './tensor.ts';

export class NpyError extends TsfaceError {
  constructor(file: string, message: string) {
    super('E_NPY', `${file}: ${message}`);
  }
}

export function readNpy(bytes: Uint8Array, file = '<memory>'): Tensor {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || !magic.every((b, i) => bytes[i] === b)) throw new NpyError(file, 'not a .npy file (bad magic)');
  const major = bytes[6];
  if (bytes[7] !== 0) throw new NpyError(file, `unsupported format version ${major}.${bytes[7]} (1.0, 2.0 and 3.0 are read)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new NpyError(file, 'truncated header');
    headerLen = view.getUint32(8, true);
    start = 12;
  } else throw new NpyError(file, `unsupported format version ${major}`);
  if (start + headerLen > bytes.length) throw new NpyError(file, 'header runs past the end of the file');
  // Versions 1 and 2 store the header as latin-1, version 3 as UTF-8 (as NumPy reads them).
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  let parsed: NpyHeader;
  try {
    parsed = parseNpyHeader(header);
  } catch (e) {
    throw new NpyError(file, (e as Error).message);
  }
  const { descr, fortranOrder, shape } = parsed;
  if (fortranOrder) throw new NpyError(file, 'Fortran-order arrays are not supported; save with np.ascontiguousarray');
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  const f4: [number, (o: number) => number] = [4, (o) => view.getFloat32(o, true)];
  const f8: [number, (o: number) => number] = [8, (o) => view.getFloat64(o, true)];
  const u1: [number, (o: number) => number] = [1, (o) => view.getUint8(o)];
  // NumPy reads a dtype without a byte order ('f4', '=f4') in the machine's order; files are
  // little-endian in practice and NumPy writes '<' (or '|' for one byte) itself.
  const kinds: Record<string, [number, (o: number) => number]> = {
    '<f4': f4, '=f4': f4, f4, '<f8': f8, '=f8': f8, f8, '|u1': u1, '<u1': u1, '>u1': u1, '=u1': u1, u1,
  };
  const kind = Object.hasOwn(kinds, descr) ? kinds[descr] : undefined;
  if (!kind && descr.startsWith('>')) throw new NpyError(file, `big-endian dtype ${descr} is not supported`);
  if (!kind) throw new NpyError(file, `dtype ${descr} is not supported (little-endian f4, f8, u1 are)`);
  const [size, get] = kind;
  // Bytes after the array are ignored, as np.load ignores them.
  if (count > (bytes.length - dataStart) / size) throw new NpyError(file, `truncated: ${count} values of ${size} bytes do not fit`);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = get(dataStart + i * size);
  return new Tensor(shape, data);
}
