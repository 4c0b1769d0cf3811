// A reader for the parts of the TFLite FlatBuffers format that tsface's converters need:
// tensors (name, shape, type, data), operators (opcode, inputs, outputs, a few options).
// Field numbers follow tensorflow/lite/schema/schema.fbs. Every offset is bounds-checked.
import { WeightsError } from '../errors.ts';

/** BuiltinOperator values used by the MTCNN and MobileFaceNet graphs. */
export const BuiltinOp = {
  ADD: 0, AVERAGE_POOL_2D: 1, CONCATENATION: 2, CONV_2D: 3, DEPTHWISE_CONV_2D: 4, FULLY_CONNECTED: 9,
  MAX_POOL_2D: 17, MUL: 18, RELU: 19, RESHAPE: 22, SOFTMAX: 25, TRANSPOSE: 39, SUB: 41, PRELU: 54, ABS: 101,
} as const;

const TENSOR_TYPE_FLOAT32 = 0;
const TENSOR_TYPE_INT32 = 2;

export interface TfliteTensor {
  index: number;
  name: string;
  shape: number[];
  type: number;
  /** float32 values for constant FLOAT32 tensors, null for activations. */
  data: Float32Array | null;
  /** values of constant INT32 tensors (shapes, axes), null otherwise. */
  int32: Int32Array | null;
}

export interface TfliteOperator {
  opcode: number;
  inputs: number[];
  outputs: number[];
  /** Conv/pool options where present: padding 'SAME' | 'VALID', strides, filter, activation. */
  options: { padding?: 'SAME' | 'VALID'; strideW?: number; strideH?: number; filterW?: number; filterH?: number; activation?: number; depthMultiplier?: number };
}

export interface TfliteModel {
  version: number;
  description: string;
  tensors: TfliteTensor[];
  operators: TfliteOperator[];
  inputs: number[];
  outputs: number[];
}

class FlatBuffer {
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array, private readonly file: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private check(at: number, size: number): void {
    if (!Number.isInteger(at) || at < 0 || at + size > this.bytes.length) {
      throw new WeightsError(this.file, null, `TFLite: offset ${at} (+${size}) is outside the ${this.bytes.length}-byte file`);
    }
  }
  u8(at: number): number { this.check(at, 1); return this.view.getUint8(at); }
  u16(at: number): number { this.check(at, 2); return this.view.getUint16(at, true); }
  i32(at: number): number { this.check(at, 4); return this.view.getInt32(at, true); }
  u32(at: number): number { this.check(at, 4); return this.view.getUint32(at, true); }
  /** Position of field `i` of the table at `table`, or 0 when absent. */
  field(table: number, i: number): number {
    const vtable = table - this.i32(table);
    const vsize = this.u16(vtable);
    const slot = 4 + 2 * i;
    if (slot + 2 > vsize) return 0;
    const off = this.u16(vtable + slot);
    return off ? table + off : 0;
  }
  deref(at: number): number { return at + this.u32(at); }
  table(table: number, i: number): number {
    const f = this.field(table, i);
    return f ? this.deref(f) : 0;
  }
  /** Vector of `field i`: [start of elements, length]. */
  vector(table: number, i: number): [number, number] {
    const f = this.field(table, i);
    if (!f) return [0, 0];
    const v = this.deref(f);
    const n = this.u32(v);
    return [v + 4, n];
  }
  int32s(table: number, i: number): number[] {
    const [start, n] = this.vector(table, i);
    this.check(start, n * 4);
    return Array.from({ length: n }, (_, k) => this.i32(start + 4 * k));
  }
  tables(table: number, i: number): number[] {
    const [start, n] = this.vector(table, i);
    this.check(start, n * 4);
    return Array.from({ length: n }, (_, k) => this.deref(start + 4 * k));
  }
  string(table: number, i: number): string {
    const [start, n] = this.vector(table, i);
    this.check(start, n);
    return new TextDecoder().decode(this.bytes.subarray(start, start + n));
  }
  bytesOf(table: number, i: number): Uint8Array {
    const [start, n] = this.vector(table, i);
    this.check(start, n);
    return this.bytes.subarray(start, start + n);
  }
  scalar(table: number, i: number, kind: 'u8' | 'i8' | 'i32' | 'u32', fallback: number): number {
    const f = this.field(table, i);
    if (!f) return fallback;
    if (kind === 'u8') return this.u8(f);
    if (kind === 'i8') return (this.u8(f) << 24) >> 24;
    return kind === 'i32' ? this.i32(f) : this.u32(f);
  }
}

export function readTflite(bytes: Uint8Array, file = '<memory>'): TfliteModel {
  if (bytes.length < 8 || new TextDecoder().decode(bytes.subarray(4, 8)) !== 'TFL3') {
    throw new WeightsError(file, null, 'not a TFLite file (no TFL3 identifier)');
  }
  const fb = new FlatBuffer(bytes, file);
  const model = fb.deref(0);
  const version = fb.scalar(model, 0, 'u32', 0);
  const opcodes = fb.tables(model, 1).map((oc) => {
    const deprecated = fb.scalar(oc, 0, 'i8', 0);
    const builtin = fb.scalar(oc, 3, 'i32', 0);
    return Math.max(deprecated, builtin);
  });
  const subgraphs = fb.tables(model, 2);
  if (subgraphs.length !== 1) throw new WeightsError(file, null, `expected one subgraph, found ${subgraphs.length}`);
  const buffers = fb.tables(model, 4);
  const sg = subgraphs[0];
  const tensors = fb.tables(sg, 0).map((t, index): TfliteTensor => {
    const shape = fb.int32s(t, 0);
    const type = fb.scalar(t, 1, 'u8', 0);
    const bufferIndex = fb.scalar(t, 2, 'u32', 0);
    const name = fb.string(t, 3);
    let data: Float32Array | null = null;
    let int32: Int32Array | null = null;
    if (bufferIndex > 0 && bufferIndex < buffers.length) {
      const raw = fb.bytesOf(buffers[bufferIndex], 0);
      if (raw.length > 0) {
        if (type !== TENSOR_TYPE_FLOAT32 && type !== TENSOR_TYPE_INT32) {
          throw new WeightsError(file, name, `constant tensor of type ${type}; only FLOAT32 (0) and INT32 (2) are supported`);
        }
        const count = shape.reduce((a, b) => a * b, 1);
        if (raw.length !== count * 4) throw new WeightsError(file, name, `holds ${raw.length} bytes, shape [${shape.join(', ')}] needs ${count * 4}`);
        const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
        if (type === TENSOR_TYPE_FLOAT32) {
          data = new Float32Array(count);
          for (let k = 0; k < count; k++) data[k] = dv.getFloat32(4 * k, true);
          // A NaN or infinity in a constant would pass into the converted weights unseen.
          const bad = data.findIndex((v) => !Number.isFinite(v));
          if (bad >= 0) throw new WeightsError(file, name, `value ${bad} is ${data[bad]}: weights must be finite`);
        } else {
          int32 = new Int32Array(count);
          for (let k = 0; k < count; k++) int32[k] = dv.getInt32(4 * k, true);
        }
      }
    } else if (bufferIndex >= buffers.length) {
      throw new WeightsError(file, name, `buffer index ${bufferIndex} is past the ${buffers.length} buffers`);
    }
    return { index, name, shape, type, data, int32 };
  });
  const operators = fb.tables(sg, 3).map((op): TfliteOperator => {
    const opcodeIndex = fb.scalar(op, 0, 'u32', 0);
    if (opcodeIndex >= opcodes.length) throw new WeightsError(file, null, `operator code index ${opcodeIndex} out of range`);
    const opcode = opcodes[opcodeIndex];
    const o = fb.table(op, 4);
    const options: TfliteOperator['options'] = {};
    if (o && (opcode === BuiltinOp.CONV_2D || opcode === BuiltinOp.DEPTHWISE_CONV_2D)) {
      options.padding = fb.scalar(o, 0, 'u8', 0) === 0 ? 'SAME' : 'VALID';
      options.strideW = fb.scalar(o, 1, 'i32', 1);
      options.strideH = fb.scalar(o, 2, 'i32', 1);
      if (opcode === BuiltinOp.CONV_2D) options.activation = fb.scalar(o, 3, 'i8', 0);
      else {
        options.depthMultiplier = fb.scalar(o, 3, 'i32', 1);
        options.activation = fb.scalar(o, 4, 'i8', 0);
      }
    } else if (o && (opcode === BuiltinOp.MAX_POOL_2D || opcode === BuiltinOp.AVERAGE_POOL_2D)) {
      options.padding = fb.scalar(o, 0, 'u8', 0) === 0 ? 'SAME' : 'VALID';
      options.strideW = fb.scalar(o, 1, 'i32', 1);
      options.strideH = fb.scalar(o, 2, 'i32', 1);
      options.filterW = fb.scalar(o, 3, 'i32', 1);
      options.filterH = fb.scalar(o, 4, 'i32', 1);
      options.activation = fb.scalar(o, 5, 'i8', 0);
    }
    return { opcode, inputs: fb.int32s(op, 1), outputs: fb.int32s(op, 2), options };
  });
  return {
    version,
    description: fb.string(model, 3),
    tensors,
    operators,
    inputs: fb.int32s(sg, 1),
    outputs: fb.int32s(sg, 2),
  };
}
