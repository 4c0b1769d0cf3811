// Just enough of a FlatBuffers writer to build small TFLite models as fuzzing seeds. Objects
// are laid out parent first, children after, so every offset the format stores as unsigned
// (parent to child) is positive.

type Value =
  | { kind: 'u8' | 'i32' | 'u32'; value: number }
  | { kind: 'table'; fields: (Value | null)[] }
  | { kind: 'tables'; items: Value[] }
  | { kind: 'int32s'; items: number[] }
  | { kind: 'bytes'; data: Uint8Array }
  | { kind: 'string'; text: string };

export const fb = {
  u8: (value: number): Value => ({ kind: 'u8', value }),
  i32: (value: number): Value => ({ kind: 'i32', value }),
  u32: (value: number): Value => ({ kind: 'u32', value }),
  table: (...fields: (Value | null)[]): Value => ({ kind: 'table', fields }),
  tables: (...items: Value[]): Value => ({ kind: 'tables', items }),
  int32s: (...items: number[]): Value => ({ kind: 'int32s', items }),
  bytes: (data: Uint8Array): Value => ({ kind: 'bytes', data }),
  string: (text: string): Value => ({ kind: 'string', text }),
};

/** Serialises a root table with a 4-byte file identifier ("TFL3"). */
export function buildFlatBuffer(root: Value, identifier: string): Uint8Array {
  const out: number[] = [];
  const pending: [number, Value][] = []; // offset slots still to fill: slot position, target
  const align = () => { while (out.length % 4) out.push(0); };
  const u32At = (at: number, v: number) => { for (let k = 0; k < 4; k++) out[at + k] = (v >>> (8 * k)) & 255; };
  const push32 = (v: number) => { const at = out.length; out.push(0, 0, 0, 0); u32At(at, v); return at; };
  const write = (v: Value): number => {
    align();
    if (v.kind === 'table') {
      const present = v.fields.map((f, i) => [f, i] as const).filter(([f]) => f !== null);
      const vtable = out.length;
      const vsize = 4 + 2 * v.fields.length;
      const tsize = 4 + 4 * present.length;
      for (let k = 0; k < vsize; k++) out.push(0);
      align();
      const table = out.length;
      out[vtable] = vsize & 255; out[vtable + 1] = vsize >> 8;
      out[vtable + 2] = tsize & 255; out[vtable + 3] = tsize >> 8;
      push32(table - vtable);
      present.forEach(([f, i], k) => {
        const slot = 4 + 4 * k;
        out[vtable + 4 + 2 * i] = slot;
        const at = push32(0);
        if (f!.kind === 'u8' || f!.kind === 'i32' || f!.kind === 'u32') u32At(at, f!.value);
        else pending.push([at, f!]);
      });
      return table;
    }
    const start = out.length;
    if (v.kind === 'tables') {
      push32(v.items.length);
      for (const item of v.items) pending.push([push32(0), item]);
    } else if (v.kind === 'int32s') {
      push32(v.items.length);
      for (const x of v.items) push32(x);
    } else if (v.kind === 'bytes' || v.kind === 'string') {
      const data = v.kind === 'bytes' ? v.data : new TextEncoder().encode(v.text);
      push32(data.length);
      out.push(...data, 0);
    } else throw new Error(`a ${v.kind} cannot stand alone`);
    return start;
  };
  out.push(0, 0, 0, 0, ...new TextEncoder().encode(identifier));
  pending.push([0, root]);
  while (pending.length) {
    const [slot, target] = pending.shift()!;
    const at = write(target);
    u32At(slot, at - slot);
  }
  return Uint8Array.from(out);
}
