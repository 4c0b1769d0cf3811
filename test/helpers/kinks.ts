// Which branch of a piecewise-linear net a tsface forward pass took, so that a reference
// (tools/reference/train_step.py) can differentiate the same branch: the side of its kink every
// ReLU / PReLU input fell on, and the cell every max-pool window picked. A float32 input a few
// 1e-6 from zero (or two window cells a few 1e-7 apart) land either way depending on summation
// order (SIMD vs scalar kernels, tsface vs torch); where they do, the two gradients are of
// different branches and may differ by far more than rounding. They are taken by wrapping
// those layers' forward on the net instance only (no library code changes), and travel as a
// safetensors file of U8 tensors with their shapes in the metadata.
import { leaves } from '../../src/layers/containers.ts';
import { PReLU, ReLU } from '../../src/layers/activation.ts';
import type { ForwardContext, Layer } from '../../src/layers/layer.ts';
import { MaxPool2d } from '../../src/layers/pool.ts';
import type { Net } from '../../src/nets/net.ts';
import { windowGeometry } from '../../src/tensor/geometry.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';

export type KinkMask =
  /** An activation's input: bit i (little-endian within each byte) is 1 where input i was > 0, the side tsface's backward ops test. */
  | { kind: 'sign'; shape: readonly number[]; bits: Uint8Array }
  /** A max pool's output: each window's pick as its offset in the window, row-major (padding counted), shape the output's. */
  | { kind: 'pick'; shape: readonly number[]; bits: Uint8Array };

export interface KinkRecorder {
  /** The masks recorded since the last take, by `<net>.<layer path with dots>` (the weights' naming). */
  take(): Map<string, KinkMask>;
  /** Puts the layers' own forward back. */
  restore(): void;
}

function signs(x: Tensor): KinkMask {
  const bits = new Uint8Array(Math.ceil(x.size / 8));
  const d = x.data;
  // The same test as reluBackward (on y = relu(x): y > 0 iff x > 0) and preluBackward (x > 0).
  for (let i = 0; i < d.length; i++) if (d[i] > 0) bits[i >> 3] |= 1 << (i & 7);
  return { kind: 'sign', shape: [...x.shape], bits };
}

/** Each window's first maximum in row-major order (padded cells skipped): the cell tsface's maxPool2dBackward routes to. */
function picks(layer: MaxPool2d, x: Tensor): KinkMask {
  const o = layer.options;
  const k = typeof o.kernel === 'number' ? [o.kernel, o.kernel] as const : o.kernel;
  const g = windowGeometry('maxPool2d', x.shape, k, o.stride ?? o.kernel, o.padding, o.ceilMode ?? false);
  if (g.kH * g.kW > 256) throw new Error(`${layer.name}: a ${g.kH}x${g.kW} window's offsets do not fit a byte`);
  const out = new Uint8Array(g.n * g.c * g.outH * g.outW);
  const d = x.data;
  let i = 0;
  for (let pl = 0; pl < g.n * g.c; pl++) {
    const base = pl * g.inH * g.inW;
    for (let oy = 0; oy < g.outH; oy++) {
      const wy0 = oy * g.strideH - g.padTop;
      for (let ox = 0; ox < g.outW; ox++, i++) {
        const wx0 = ox * g.strideW - g.padLeft;
        let m = -Infinity, best = -1;
        for (let y = Math.max(wy0, 0); y < Math.min(wy0 + g.kH, g.inH); y++) {
          for (let xx = Math.max(wx0, 0); xx < Math.min(wx0 + g.kW, g.inW); xx++) {
            const v = d[base + y * g.inW + xx];
            if (v > m || v !== v || best < 0) {
              m = v;
              best = (y - wy0) * g.kW + (xx - wx0);
            }
          }
        }
        out[i] = best;
      }
    }
  }
  return { kind: 'pick', shape: [g.n, g.c, g.outH, g.outW], bits: out };
}

/** Wraps every ReLU, PReLU and MaxPool2d of `net` to record its branch on each forward call. */
export function recordKinks(net: Net): KinkRecorder {
  let masks = new Map<string, KinkMask>();
  const wrapped: { layer: Layer; forward: Layer['forward'] }[] = [];
  for (const root of [net.trunk, ...Object.values(net.heads)]) {
    for (const { path, layer } of leaves(root)) {
      if (!(layer instanceof ReLU) && !(layer instanceof PReLU) && !(layer instanceof MaxPool2d)) continue;
      const name = `${net.name}.${path.replaceAll('/', '.')}`;
      const forward = layer.forward;
      wrapped.push({ layer, forward });
      layer.forward = async function (this: Layer, ctx: ForwardContext, x: Tensor, p: string): Promise<Tensor> {
        // One mask per layer per pass: a layer run twice in one pass would need them in order.
        if (masks.has(name)) throw new Error(`${name}: run twice in one recorded pass`);
        masks.set(name, layer instanceof MaxPool2d ? picks(layer, x) : signs(x));
        return forward.call(this, ctx, x, p);
      };
    }
  }
  if (wrapped.length === 0) throw new Error(`${net.name}: no ReLU, PReLU or max pool to record`);
  return {
    take() {
      const out = masks;
      masks = new Map();
      return out;
    },
    restore() {
      for (const { layer, forward } of wrapped) layer.forward = forward;
    },
  };
}

/**
 * A safetensors file of the masks as U8 with `prefix` before each name: signs bit-packed, their
 * shapes under metadata `mask_shapes`; picks a byte each, their shapes under `pick_shapes`.
 */
export function writeKinkMasks(entries: ReadonlyArray<readonly [prefix: string, masks: ReadonlyMap<string, KinkMask>]>): Uint8Array {
  const header: Record<string, unknown> = {};
  const shapes: Record<KinkMask['kind'], Record<string, readonly number[]>> = { sign: {}, pick: {} };
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [prefix, masks] of entries) {
    for (const [name, m] of masks) {
      const key = `${prefix}${name}`;
      if (key in header) throw new Error(`mask ${key} given twice`);
      header[key] = { dtype: 'U8', shape: [m.bits.length], data_offsets: [offset, offset + m.bits.length] };
      shapes[m.kind][key] = m.shape;
      blobs.push(m.bits);
      offset += m.bits.length;
    }
  }
  header.__metadata__ = { mask_shapes: JSON.stringify(shapes.sign), pick_shapes: JSON.stringify(shapes.pick) };
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - ((8 + Buffer.byteLength(text)) % 8)) % 8);
  const head = Buffer.from(text);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const b of blobs) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}
