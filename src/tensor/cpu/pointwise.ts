// Element-wise and per-position kernels: cheap next to convolution, written plainly.
import { env } from '../../platform/index.ts';
import { copyFloats } from './copy.ts';
import { expf } from './expf.ts';
import { simdSoftmax2, simdSoftmaxSupported } from './simdSoftmax.ts';

// Activations avoid both branches (activation signs are close to random) and Math.max/min
// (V8's NaN and -0 handling makes them slow): (v + |v|) / 2 and (v - |v|) / 2 are exactly
// max(v, 0) and min(v, 0) in float64, so the results are bit-identical to the plain forms and
// run about 3x faster on P-Net's first-layer maps.
export function relu(x: Float32Array, out: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    out[i] = (v + Math.abs(v)) * 0.5;
  }
}

export function prelu(x: Float32Array, alpha: Float32Array, planes: number, channels: number, plane: number, out: Float32Array): void {
  let i = 0;
  for (let p = 0; p < planes; p++) {
    const a = alpha[p % channels];
    for (let j = 0; j < plane; j++, i++) {
      const v = x[i];
      const m = Math.abs(v);
      out[i] = (v + m) * 0.5 + a * ((v - m) * 0.5);
    }
  }
}

export function add(a: Float32Array, b: Float32Array, out: Float32Array): void {
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
}

/**
 * Softmax over the channel axis of [n, c, plane], in float32 step by step as torch computes it,
 * because MTCNN's scores saturate and exact float32 ties between them decide which box NMS keeps:
 * e_k = expf(fl32(x_k - max)) (torch's own float32 exp, see expf.ts), s = fl32(e_0 + e_1 + ...), then p_k = fl32(e_k / s) for a
 * map (P-Net's [N, 2, H, W], torch's softmax over a non-last dim) or p_k = fl32(e_k * fl32(1 / s))
 * for rows (R-Net/O-Net's [N, 2], torch's last-dim kernel multiplies by the reciprocal).
 * A float64 softmax rounded once breaks ties the reference has and makes ties it does not have.
 *
 * Two channels over planes of a few vectors or more (P-Net's map) run on WebAssembly SIMD where
 * the engine has it (simdSoftmax.ts, same bits; TSFACE_SIMD=0 keeps them here); the rest, and
 * the positions that kernel hands back, run softmaxChannelsScalar.
 */
export function softmaxChannels(x: Float32Array, n: number, c: number, plane: number, out: Float32Array, rows = false, from = 0, to = n * plane): void {
  if (c === 2 && plane >= SIMD_SOFTMAX_MIN_PLANE && to > from && simdSoftmaxOn()) {
    simdSoftmax2(x, n, plane, out, rows, from, to, (a, b) => softmaxChannelsScalar(x, n, c, plane, out, rows, a, b));
  } else {
    softmaxChannelsScalar(x, n, c, plane, out, rows, from, to);
  }
}

/** Below this plane size a kernel call per item costs more than the scalar code. */
const SIMD_SOFTMAX_MIN_PLANE = 16;
let simdSoftmaxEnabled: boolean | undefined;
function simdSoftmaxOn(): boolean {
  if (simdSoftmaxEnabled === undefined) {
    simdSoftmaxEnabled = env('TSFACE_SIMD') !== '0' && simdSoftmaxSupported();
  }
  return simdSoftmaxEnabled;
}

/** softmaxChannels in TypeScript for any channel count: the definition the SIMD path matches. */
export function softmaxChannelsScalar(x: Float32Array, n: number, c: number, plane: number, out: Float32Array, rows = false, from = 0, to = n * plane): void {
  const f = Math.fround;
  // Positions [from, to) of the n * plane (item, pixel) pairs, so threads can share a map.
  for (let at = from; at < to; at++) {
    const b = Math.floor(at / plane);
    const j = at - b * plane;
    const base = b * c * plane;
    let m = -Infinity;
    for (let k = 0; k < c; k++) m = Math.max(m, x[base + k * plane + j]);
    let s = 0;
    for (let k = 0; k < c; k++) {
      // The largest logit's exp is exp(0) = 1 exactly (torch's too): with two channels (MTCNN's
      // scores) that halves the float32 exps, the costliest part of P-Net's softmax.
      const d = f(x[base + k * plane + j] - m);
      const e = d === 0 ? 1 : expf(d);
      out[base + k * plane + j] = e;
      s = f(s + e);
    }
    if (rows) {
      const inv = f(1 / s);
      for (let k = 0; k < c; k++) out[base + k * plane + j] *= inv;
    } else {
      for (let k = 0; k < c; k++) out[base + k * plane + j] /= s;
    }
  }
}

export function l2NormalizeChannels(x: Float32Array, n: number, c: number, plane: number, eps: number, out: Float32Array): void {
  for (let b = 0; b < n; b++) {
    const base = b * c * plane;
    for (let j = 0; j < plane; j++) {
      let s = 0;
      for (let k = 0; k < c; k++) s += x[base + k * plane + j] ** 2;
      const inv = 1 / Math.sqrt(Math.max(s, eps));
      for (let k = 0; k < c; k++) out[base + k * plane + j] = x[base + k * plane + j] * inv;
    }
  }
}

/**
 * Cross-channel LRN (Torch7 SpatialCrossMapLRN, torch.nn.LocalResponseNorm): the window of
 * `size` channels is centred, channels past the borders count as zero, and the divisor is
 * always `size`.
 */
export function lrnChannels(
  x: Float32Array, n: number, c: number, plane: number,
  size: number, alpha: number, beta: number, k: number, out: Float32Array,
): void {
  const before = Math.floor(size / 2);
  const after = Math.floor((size - 1) / 2);
  const scale = alpha / size;
  // Plane by plane so every loop runs along contiguous memory; squares kept in float64.
  const sq = new Float64Array(c * plane);
  const sum = new Float64Array(plane);
  for (let b = 0; b < n; b++) {
    const base = b * c * plane;
    for (let i = 0; i < c * plane; i++) sq[i] = x[base + i] * x[base + i];
    for (let ch = 0; ch < c; ch++) {
      sum.fill(0);
      const hi = Math.min(c - 1, ch + after);
      for (let q = Math.max(0, ch - before); q <= hi; q++) {
        const at = q * plane;
        for (let j = 0; j < plane; j++) sum[j] += sq[at + j];
      }
      const at = base + ch * plane;
      // t^0.75 (Caffe's and FaceNet's beta) as sqrt(t) * sqrt(sqrt(t)): a few times faster than pow.
      if (beta === 0.75) {
        for (let j = 0; j < plane; j++) {
          const t = k + scale * sum[j];
          const r = Math.sqrt(t);
          out[at + j] = x[at + j] / (r * Math.sqrt(r));
        }
      } else {
        for (let j = 0; j < plane; j++) out[at + j] = x[at + j] / Math.pow(k + scale * sum[j], beta);
      }
    }
  }
}

export function batchNorm(
  x: Float32Array, n: number, c: number, plane: number,
  mean: Float32Array, variance: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number,
  out: Float32Array,
): void {
  let i = 0;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const scale = gamma[ch] / Math.sqrt(variance[ch] + eps);
      const shift = beta[ch] - mean[ch] * scale;
      for (let j = 0; j < plane; j++, i++) out[i] = x[i] * scale + shift;
    }
  }
}

/** y[b, o] = sum_f x[b, f] * w[o, f] + bias[o]. */
export function dense(x: Float32Array, w: Float32Array, bias: Float32Array | null, n: number, f: number, o: number, out: Float32Array): void {
  for (let b = 0; b < n; b++) {
    const xb = b * f;
    for (let r = 0; r < o; r++) {
      const wr = r * f;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let i = 0;
      for (; i + 3 < f; i += 4) {
        s0 += x[xb + i] * w[wr + i];
        s1 += x[xb + i + 1] * w[wr + i + 1];
        s2 += x[xb + i + 2] * w[wr + i + 2];
        s3 += x[xb + i + 3] * w[wr + i + 3];
      }
      for (; i < f; i++) s0 += x[xb + i] * w[wr + i];
      out[b * o + r] = s0 + s1 + s2 + s3 + (bias ? bias[r] : 0);
    }
  }
}

export function pad2d(
  x: Float32Array, planes: number, h: number, w: number,
  top: number, bottom: number, left: number, right: number, out: Float32Array,
): void {
  const oh = h + top + bottom;
  const ow = w + left + right;
  out.fill(0);
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < h; y++) {
      copyFloats(out, (p * oh + y + top) * ow + left, x, (p * h + y) * w, w);
    }
  }
}
