// NumPy .npy reader (format 1.0/2.0/3.0): little-endian f4, f8 or u1, C order. Values become
// float32. Big-endian data and Fortran order are refused rather than silently misread.
import { TsfaceError } from './errors.ts';
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
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new NpyError(file, `unreadable header ${header.trim()}`);
  if (fortran === 'True') throw new NpyError(file, 'Fortran-order arrays are not supported; save with np.ascontiguousarray');
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new NpyError(file, `bad shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  const kinds: Record<string, [number, (o: number) => number]> = {
    '<f4': [4, (o) => view.getFloat32(o, true)],
    '<f8': [8, (o) => view.getFloat64(o, true)],
    '|u1': [1, (o) => view.getUint8(o)],
    '<u1': [1, (o) => view.getUint8(o)],
  };
  if (descr.startsWith('>')) throw new NpyError(file, `big-endian dtype ${descr} is not supported`);
  const kind = kinds[descr];
  if (!kind) throw new NpyError(file, `dtype ${descr} is not supported (little-endian f4, f8, u1 are)`);
  const [size, get] = kind;
  if (dataStart + count * size > bytes.length) throw new NpyError(file, `truncated: ${count} values of ${size} bytes do not fit`);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = get(dataStart + i * size);
  return new Tensor(shape, data);
}
