// Convolution on the CPU as im2col + a register-blocked GEMM, done chunk by chunk so the
// unrolled input stays in cache. The GEMM is either generated TypeScript (float64, the
// reference) or the WebAssembly SIMD micro-kernel of simdGemm.ts (float32 lanes).
import { convReduction, convSizes, convTask, MR, NR, type ConvPlan } from './convPlan.ts';
import { simdConvTasks } from './simdConv.ts';
import { simdDepthwiseFits, simdDepthwiseTasks } from './simdDepthwise.ts';
import { pooledTaskCount, simdFirstConvFits, simdFirstConvTasks } from './simdFirstConv.ts';
import { winogradTaskCount } from './winograd.ts';

export { chunkFor, convReduction, convSizes, convTask, isDepthwise, MR, NR, packConvWeights, packedWeightLength, type ConvPlan } from './convPlan.ts';

/**
 * The slope applied to negative outputs of channel c: 1 (identity), 0 (ReLU) or alpha[c].
 * (y + |y|) / 2 + s * (y - |y|) / 2 is exact in float64 for all three.
 */
function slope(p: ConvPlan, alpha: Float32Array | null, c: number): number {
  return p.activation === 0 ? 1 : p.activation === 1 ? 0 : alpha![c];
}

/**
 * How many batch items of a small output map fill one GEMM chunk on the SIMD path: R-Net's last
 * conv has 9 output pixels a crop, so per crop the GEMM would run 3 panels of 4 pixels (a quarter
 * of them padding) and the copies in and out would cost more than the multiplications. 0 where
 * items run one by one (one item's map fills a chunk, one item, grouped convs).
 */
export function smallMapItems(p: ConvPlan): number {
  const items = Math.min(p.n, Math.floor(p.chunk / (p.outH * p.outW)));
  return p.simd && !p.winograd && p.groups === 1 && items >= 2 && !simdFirstConvFits(p) ? items : 0;
}

/** Independent units of work: (batch item, group, pixel chunk), or runs of `items` batch items. */
export function convTaskCount(p: ConvPlan): number {
  if (p.pool) return pooledTaskCount(p);
  if (p.winograd) return winogradTaskCount(p);
  if (p.items) return Math.ceil(p.n / p.items);
  return p.n * p.groups * Math.ceil((p.outH * p.outW) / p.chunk);
}

/** Runs tasks [from, to) of a grouped/dense convolution. `scratch` holds chunk * K floats. */
export function convTasks(
  p: ConvPlan,
  x: Float32Array,
  packed: Float32Array,
  bias: Float32Array | null,
  out: Float32Array,
  scratch: Float32Array,
  alpha: Float32Array | null,
  from: number,
  to: number,
): void {
  if (p.simd) {
    // 3 -> n up to 7x7, strides 1 and 2 (every net's first conv): a direct kernel, the GEMM's bits.
    if (simdFirstConvFits(p)) simdFirstConvTasks(p, x, packed, bias, out, alpha, from, to);
    else simdConvTasks(p, x, packed, bias, out, alpha, from, to);
    return;
  }
  const { K, cInG, mG, blocks, hw } = convSizes(p);
  for (let t = from; t < to; t++) {
    const { b, g, j0, j1 } = convTask(p, t);
    unroll(p, x, scratch, b, g * cInG, cInG, j0, j1);
    const outBase = (b * p.cOut + g * mG) * hw;
    gemmKernel(K, p.activation)(packed, g * blocks * K * MR, scratch, mG, j1 - j0, out, outBase + j0, hw, bias, alpha, g * mG);
  }
}

/** im2col of pixels [j0, j1) into panels of NR pixels: scratch[panel][k][lane]. */
function unroll(p: ConvPlan, x: Float32Array, scratch: Float32Array, b: number, c0: number, cInG: number, j0: number, j1: number): void {
  const { inH, inW, kH, kW, strideH, strideW, padTop, padLeft, outW } = p;
  const K = cInG * kH * kW;
  const plane = inH * inW;
  const xBase = (b * p.cIn + c0) * plane;
  for (let pj = j0; pj < j1; pj += NR) {
    const panel = ((pj - j0) / NR) * K * NR;
    const oy = Math.floor(pj / outW);
    const ox = pj - oy * outW;
    const iy0 = oy * strideH - padTop;
    const ix0 = ox * strideW - padLeft;
    // Fast path: four pixels of one output row whose windows all lie inside the input. Then
    // lane l of tap (c, ky, kx) is x[row + kx + l * strideW]: four loads, four adjacent stores.
    if (pj + NR <= j1 && ox + NR <= outW && iy0 >= 0 && iy0 + kH <= inH && ix0 >= 0 && ix0 + (NR - 1) * strideW + kW <= inW) {
      let dst = panel;
      for (let c = 0; c < cInG; c++) {
        for (let ky = 0; ky < kH; ky++) {
          let src = xBase + c * plane + (iy0 + ky) * inW + ix0;
          for (let kx = 0; kx < kW; kx++, src++, dst += NR) {
            scratch[dst] = x[src];
            scratch[dst + 1] = x[src + strideW];
            scratch[dst + 2] = x[src + 2 * strideW];
            scratch[dst + 3] = x[src + 3 * strideW];
          }
        }
      }
      continue;
    }
    // General path, pixel by pixel, with zero padding; lanes past j1 are zeroed for determinism.
    for (let lane = 0; lane < NR; lane++) {
      const j = pj + lane;
      let dst = panel + lane;
      if (j >= j1) {
        for (let k = 0; k < K; k++, dst += NR) scratch[dst] = 0;
        continue;
      }
      const py = Math.floor(j / outW);
      const py0 = py * strideH - padTop;
      const px0 = (j - py * outW) * strideW - padLeft;
      for (let c = 0; c < cInG; c++) {
        const cBase = xBase + c * plane;
        for (let ky = 0; ky < kH; ky++) {
          const iy = py0 + ky;
          const rowOk = iy >= 0 && iy < inH;
          for (let kx = 0; kx < kW; kx++, dst += NR) {
            const ix = px0 + kx;
            scratch[dst] = rowOk && ix >= 0 && ix < inW ? x[cBase + iy * inW + ix] : 0;
          }
        }
      }
    }
  }
}

type Gemm = (
  A: Float32Array, aOff: number, B: Float32Array, rows: number, cols: number,
  out: Float32Array, outOff: number, ldOut: number, bias: Float32Array | null, alpha: Float32Array | null, biasOff: number,
) => void;

const gemms = new Map<string, Gemm>();

/**
 * C[m, j] = sum_k A[m, k] * B[k, j] (+ bias[m], then the activation) for m < rows, j < cols,
 * with A packed by packConvWeights and B by unroll. A 4x4 block of C lives in 16 locals through
 * the k loop. The kernel is generated once per reduction length K and activation, with K as a
 * literal: V8 then keeps the loop bound and offsets in registers, measurably faster than the
 * same loop with K as a parameter (`npm run bench -- --only gemm` times this kernel alone).
 */
export function gemmKernel(K: number, activation: 0 | 1 | 2): Gemm {
  const key = `${K}:${activation}`;
  let g = gemms.get(key);
  if (g) return g;
  // y is the conv output rounded to float32 (as an unfused conv stores it), then the activation:
  // (y + |y|) / 2 + s * (y - |y|) / 2 is exact in float64 with s = 0 (ReLU) or alpha (PReLU).
  const act = (v: string, s: string) =>
    activation === 0 ? `${v} + bv` : `(y = Math.fround(${v} + bv), m = Math.abs(y), (y + m) * 0.5 + ${s} * ((y - m) * 0.5))`;
  const slope = activation === 2 ? 'alpha[c]' : '0';
  const row = (r: number) => `
        if (r > ${r}) {
          const c = biasOff + m0 + ${r};
          const bv = bias ? bias[c] : 0;
          const s = ${slope};
          const o = jBase + (m0 + ${r}) * ldOut;
          out[o] = ${act(`c${r}0`, 's')};
          if (width > 1) out[o + 1] = ${act(`c${r}1`, 's')};
          if (width > 2) out[o + 2] = ${act(`c${r}2`, 's')};
          if (width > 3) out[o + 3] = ${act(`c${r}3`, 's')};
        }`;
  const body = `
  const panels = Math.ceil(cols / 4);
  const blocks = Math.ceil(rows / 4);
  let y = 0, m = 0;
  for (let pb = 0; pb < panels; pb++) {
    const bBase = pb * ${K * NR};
    const jBase = outOff + pb * 4;
    const width = Math.min(4, cols - pb * 4);
    for (let mb = 0; mb < blocks; mb++) {
      let ai = aOff + mb * ${K * MR};
      let bi = bBase;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (const end = ai + ${K * MR}; ai < end; ai += 4, bi += 4) {
        const b0 = B[bi], b1 = B[bi + 1], b2 = B[bi + 2], b3 = B[bi + 3];
        let a = A[ai]; c00 += a * b0; c01 += a * b1; c02 += a * b2; c03 += a * b3;
        a = A[ai + 1]; c10 += a * b0; c11 += a * b1; c12 += a * b2; c13 += a * b3;
        a = A[ai + 2]; c20 += a * b0; c21 += a * b1; c22 += a * b2; c23 += a * b3;
        a = A[ai + 3]; c30 += a * b0; c31 += a * b1; c32 += a * b2; c33 += a * b3;
      }
      const m0 = mb * 4;
      const r = Math.min(4, rows - m0);${row(0)}${row(1)}${row(2)}${row(3)}
    }
  }`;
  g = new Function('A', 'aOff', 'B', 'rows', 'cols', 'out', 'outOff', 'ldOut', 'bias', 'alpha', 'biasOff', body) as Gemm;
  gemms.set(key, g);
  return g;
}

/** The conv output rounded to float32 (as an unfused conv stores it), then the activation. */
function activate(v: number, bias: number, s: number): number {
  const y = Math.fround(v + bias);
  const m = Math.abs(y);
  return (y + m) * 0.5 + s * ((y - m) * 0.5);
}

/** Depthwise convolution (one input and one output channel per group), direct: tasks are (batch, channel). */
export function depthwiseTasks(
  p: ConvPlan,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  out: Float32Array,
  alpha: Float32Array | null,
  from: number,
  to: number,
): void {
  if (p.simd && simdDepthwiseFits(p)) {
    simdDepthwiseTasks(p, x, w, bias, out, alpha, from, to);
    return;
  }
  const { inH, inW, kH, kW, strideH, strideW, padTop, padLeft, outH, outW } = p;
  const plane = inH * inW;
  const taps = kH * kW;
  for (let t = from; t < to; t++) {
    const c = t % p.cIn;
    const xBase = t * plane;
    const wBase = c * taps;
    const bv = bias ? bias[c] : 0;
    const s = slope(p, alpha, c);
    let o = t * outH * outW;
    for (let oy = 0; oy < outH; oy++) {
      const iy0 = oy * strideH - padTop;
      for (let ox = 0; ox < outW; ox++) {
        const ix0 = ox * strideW - padLeft;
        let sum = 0;
        for (let ky = 0; ky < kH; ky++) {
          const iy = iy0 + ky;
          if (iy < 0 || iy >= inH) continue;
          const row = xBase + iy * inW;
          const wRow = wBase + ky * kW;
          for (let kx = 0; kx < kW; kx++) {
            const ix = ix0 + kx;
            if (ix >= 0 && ix < inW) sum += x[row + ix] * w[wRow + kx];
          }
        }
        out[o++] = activate(sum, bv, s);
      }
    }
  }
}
