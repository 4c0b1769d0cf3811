// The ops of a packed plan (packedKernels.ts): while a pass is recorded on a GL backend, the
// convolutions, pools, channel maps, additions and concatenations keep their tensors four
// channels to a texel; every other op, and every output of the plan, gets a plain NCHW copy
// through one unpack step. Weights are packed once, when the plan is recorded.
import type { Conv2dOptions, Pool2dOptions } from '../geometry.ts';
import { pair, windowGeometry, type Window2d } from '../geometry.ts';
import { Tensor } from '../tensor.ts';
import * as P from './packedKernels.ts';
import type { Recording } from './plan.ts';
import { gpuWinogradFits, packWinogradWeights, PACKED_WINOGRAD_GEMM, PACKED_WINOGRAD_INPUT, PACKED_WINOGRAD_OUTPUT } from './winogradKernels.ts';

/** The NCHW tensor's texel count packed. */
const texels = (shape: readonly number[]) => shape[0] * P.groupsOf(shape[1]) * shape[2] * shape[3];

/** Makes a device-resident value of Array(4) entries from flat values (the backend's upload kernel). */
export type Uploader = (values: Float32Array) => unknown;

export class PackedOps {
  /** Plain copies already made of packed placeholders, so each is unpacked once. */
  private readonly plainCopies = new WeakMap<Float32Array, Tensor>();
  /** Packed copies of plain tensors, by array and the shape they were packed as. */
  private readonly packedCopies = new WeakMap<Float32Array, Map<string, Tensor>>();
  /** What upload made for this plan: released with it. */
  readonly uploads: unknown[] = [];

  constructor(private readonly recording: Recording, private readonly uploader: Uploader) {}

  private upload(values: Float32Array): unknown {
    const handle = this.uploader(values);
    this.uploads.push(handle);
    return handle;
  }

  /**
   * Whether t's array holds the packed layout of t's own shape: the same batch and channels and
   * the same positions per channel (a reshape that keeps those, as a dense layer's [N, O] of a
   * packed [N, O, 1, 1], lays out the same texels; a flatten does not).
   */
  isPacked(t: Tensor): boolean {
    const info = this.recording.packed.get(t.data);
    return !!info && t.rank >= 2 && t.shape[0] === info.shape[0] && t.shape[1] === info.shape[1] && t.size === info.shape.reduce((a, b) => a * b, 1);
  }

  /** The tensor as a packed placeholder of its own shape ([N, C, H, W], or [N, C] as [N, C, 1, 1]): itself, or a pack step. */
  packed(t: Tensor): Tensor {
    if (this.isPacked(t)) return t;
    const shape = t.rank === 2 ? [t.shape[0], t.shape[1], 1, 1] : t.shape;
    const key = shape.join('x');
    let copies = this.packedCopies.get(t.data);
    if (!copies) this.packedCopies.set(t.data, (copies = new Map()));
    let p = copies.get(key);
    if (!p) {
      const [, c, h, w] = shape;
      const constants = { c, c4: P.groupsOf(c), h, w };
      p = this.recording.record(P.PACK, `pack|${JSON.stringify(constants)}`, constants, shape, [this.plain(t.data)], texels(shape));
      copies.set(key, p);
    }
    return p;
  }

  /** A plain NCHW array for a kernel argument: a packed placeholder's unpacked copy, anything else as it is. */
  plain(a: Float32Array): Float32Array {
    const info = this.recording.packed.get(a);
    if (!info) return a;
    let t = this.plainCopies.get(a);
    if (!t) {
      const [, c, h, w] = info.shape;
      const constants = { c, c4: P.groupsOf(c), h, w };
      t = this.recording.record(P.UNPACK, `unpack|${JSON.stringify(constants)}`, constants, info.shape, [a]);
      this.plainCopies.set(a, t);
    }
    return t.data;
  }

  /** The plain tensor of an output, same shape as asked (reshapes keep the array). */
  plainTensor(t: Tensor): Tensor {
    return this.recording.packed.has(t.data) ? new Tensor(t.shape, this.plain(t.data)) : t;
  }

  /** Null when the convolution has no packed form here (grouped but not depthwise). */
  conv2d(x: Tensor, weight: Tensor, bias: Tensor | null, options: Conv2dOptions): Tensor | null {
    const [n, cIn] = x.shape;
    const [cOut, cInG, kH, kW] = weight.shape;
    const groups = options.groups ?? 1;
    const depthwise = groups === cIn && cInG === 1 && cOut === cIn;
    if (x.rank !== 4 || (groups !== 1 && !depthwise)) return null;
    const g = windowGeometry('conv2d', x.shape, [kH, kW], options.stride, options.padding, false);
    const act = !options.activation ? 0 : options.activation.kind === 'relu' ? 1 : 2;
    const alpha = options.activation?.kind === 'prelu' ? options.activation.alpha.data : new Float32Array(cOut);
    const b = P.packVector(bias ? bias.data : new Float32Array(cOut), cOut);
    const slopes = P.packVector(alpha, cOut);
    if (gpuWinogradFits(cIn, cOut, kH, kW, g.strideH, g.strideW, groups)) {
      return this.winogradConv(this.packed(x).data, g, cOut, act, [this.upload(packWinogradWeights(weight.data, cOut, cIn)), this.upload(b), this.upload(slopes)]);
    }
    const constants = {
      ci4: P.groupsOf(cIn), co4: P.groupsOf(cOut), kH, kW, sH: g.strideH, sW: g.strideW,
      inH: g.inH, inW: g.inW, outH: g.outH, outW: g.outW, pT: g.padTop, pL: g.padLeft, act,
    };
    const shape = [n, cOut, g.outH, g.outW];
    const pointwise = kH === 1 && kW === 1 && g.padTop === 0 && g.padLeft === 0;
    const [source, name] = depthwise ? [P.DEPTHWISE, 'pdepthwise'] : pointwise ? [P.CONV_1X1, 'pconv1x1'] : [P.CONV, 'pconv'];
    const w = depthwise ? P.packDepthwiseWeights(weight.data, cOut, kH, kW) : P.packConvWeights(weight.data, cOut, cIn, kH, kW);
    return this.recording.record(source, `${name}|${JSON.stringify(constants)}`, constants, shape, [this.packed(x).data, this.upload(w), this.upload(b), this.upload(slopes)], texels(shape));
  }

  /**
   * A 3x3 stride-1 conv as Winograd's three steps (winogradKernels.ts): V and M are packed
   * placeholders of 16 products per tile. `uploads`: the transformed weights, biases and slopes.
   */
  private winogradConv(x: Float32Array, g: Window2d, cOut: number, act: number, [u, b, slopes]: unknown[]): Tensor {
    const { n, inH, inW, outH, outW, padTop: pT, padLeft: pL } = g;
    const ci4 = P.groupsOf(g.c);
    const co4 = P.groupsOf(cOut);
    const tH = Math.ceil(outH / 2);
    const tW = Math.ceil(outW / 2);
    const T = tH * tW;
    const input = { ci4, n, T, tW, inH, inW, pT, pL };
    const v = this.recording.record(PACKED_WINOGRAD_INPUT, `pwinoIn|${JSON.stringify(input)}`, input, [16 * n, ci4 * 4, tH, tW], [x], 16 * n * ci4 * T);
    const gemm = { ci4, co4, n, T };
    const m = this.recording.record(PACKED_WINOGRAD_GEMM, `pwinoGemm|${JSON.stringify(gemm)}`, gemm, [16 * n, co4 * 4, tH, tW], [v.data, u], 16 * n * co4 * T);
    const output = { co4, n, T, tW, outH, outW, act };
    const shape = [n, cOut, outH, outW];
    return this.recording.record(PACKED_WINOGRAD_OUTPUT, `pwinoOut|${JSON.stringify(output)}`, output, shape, [m.data, b, slopes], texels(shape));
  }

  /**
   * A dense layer over a flattened packed [N, C, H, W] map is a convolution whose window is the
   * whole map (the weight [O, C*H*W] read as [O, C, H, W]), one output position: four outputs
   * per thread from packed reads instead of an unpack and two reads per multiply-add. The
   * result stays packed as [N, O, 1, 1], handed on as [N, O]. Null when x is not such a map.
   */
  dense(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor | null {
    const info = this.recording.packed.get(x.data);
    if (!info || info.shape.length !== 4) return null;
    const [n, c, h, w] = info.shape;
    const o = weight.shape[0];
    const map = new Tensor([n, c, h, w], x.data);
    const y = this.conv2d(map, new Tensor([o, c, h, w], weight.data), bias, {});
    return y ? y.reshape([n, o]) : null;
  }

  pool(kind: number, op: string, x: Tensor, o: Pool2dOptions): Tensor {
    const g = windowGeometry(op, x.shape, pair(o.kernel, 1), o.stride ?? o.kernel, o.padding, o.ceilMode ?? false);
    const constants = {
      c4: P.groupsOf(g.c), kind, kH: g.kH, kW: g.kW, sH: g.strideH, sW: g.strideW, inH: g.inH, inW: g.inW, outH: g.outH, outW: g.outW,
      pT: g.padTop, pL: g.padLeft, pB: g.padBottom, pR: g.padRight, includePad: o.countIncludePad ?? true ? 1 : 0,
    };
    const shape = [g.n, g.c, g.outH, g.outW];
    return this.recording.record(P.POOL, `ppool|${JSON.stringify(constants)}`, constants, shape, [this.packed(x).data], texels(shape));
  }

  /** kind 0 affine (p scale, q shift), 1 PReLU (p alpha), 2 ReLU; x already packed, [N, C, H, W] or a dense layer's [N, C]. */
  channelMap(kind: number, x: Tensor, p: Float32Array, q: Float32Array): Tensor {
    const shape = this.recording.packed.get(x.data)!.shape;
    const c = shape[1];
    const constants = { kind, c4: P.groupsOf(c), plane: shape[2] * shape[3] };
    const y = this.recording.record(P.CHANNEL_MAP, `pchannelMap|${JSON.stringify(constants)}`, constants, shape, [x.data, this.upload(P.packVector(p, c)), this.upload(P.packVector(q, c))], texels(shape));
    return y.reshape(x.shape);
  }

  add(a: Tensor, b: Tensor): Tensor {
    return this.recording.record(P.ADD, 'padd', {}, a.shape, [this.packed(a).data, this.packed(b).data], texels(a.shape));
  }

  /** Null unless every part is rank 4 with whole channel groups (at most four parts). */
  concat(xs: readonly Tensor[]): Tensor | null {
    if (xs.length > 4 || xs.some((t) => t.rank !== 4 || t.shape[1] % 4 !== 0)) return null;
    const parts = [...xs.map((t) => this.packed(t)), ...Array<Tensor | null>(4 - xs.length).fill(null)];
    const groups = parts.map((t) => (t ? t.shape[1] / 4 : 0));
    const c4 = groups.reduce((a, b) => a + b, 0);
    const [n, , h, w] = xs[0].shape;
    const constants = { c0: groups[0], c1: groups[1], c2: groups[2], c3: groups[3], c4, plane: h * w };
    const unused = this.upload(new Float32Array(4));
    const shape = [n, c4 * 4, h, w];
    return this.recording.record(P.CONCAT4, `pconcat|${JSON.stringify(constants)}`, constants, shape, parts.map((t) => (t ? t.data : unused)), texels(shape));
  }
}
