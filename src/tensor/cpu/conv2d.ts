// Convolution on the CPU as im2col + a register-blocked GEMM, done chunk by chunk so the
// unrolled input stays in cache. This file has no imports: worker threads load it as is.

/** Everything a conv kernel needs, as plain numbers (it crosses to worker threads). */
export interface ConvPlan {
  n: number;
  cIn: number;
  inH: number;
  inW: number;
  cOut: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  outH: number;
  outW: number;
  groups: number;
  /** Output pixels unrolled at once: a multiple of 4 sized so the panel fits in L1/L2. */
  chunk: number;
  /** 0: none, 1: ReLU, 2: PReLU with per-output-channel slopes. */
  activation: 0 | 1 | 2;
}

/**
 * The slope applied to negative outputs of channel c: 1 (identity), 0 (ReLU) or alpha[c].
 * (y + |y|) / 2 + s * (y - |y|) / 2 is exact in float64 for all three.
 */
function slope(p: ConvPlan, alpha: Float32Array | null, c: number): number {
  return p.activation === 0 ? 1 : p.activation === 1 ? 0 : alpha![c];
}

/** Rows of the weight matrix handled together by the micro-kernel. */
export const MR = 4;
/** Output pixels handled together by the micro-kernel. */
export const NR = 4;

export function convReduction(p: ConvPlan): number {
  return (p.cIn / p.groups) * p.kH * p.kW;
}

export function chunkFor(reduction: number): number {
  const pixels = Math.floor(12288 / reduction / NR) * NR;
  return Math.max(NR * 4, Math.min(pixels, 1024));
}

/** Independent units of work: (batch item, group, pixel chunk). */
export function convTaskCount(p: ConvPlan): number {
  return p.n * p.groups * Math.ceil((p.outH * p.outW) / p.chunk);
}

export function isDepthwise(p: ConvPlan): boolean {
  return p.groups === p.cIn && p.groups === p.cOut;
}

/**
 * Weights [cOut, cIn/g, kH, kW] rearranged per group into blocks of MR output channels,
 * reduction index outermost inside a block, so the micro-kernel reads them sequentially.
 * Rows past cOut/g are zero.
 */
export function packConvWeights(p: ConvPlan, w: Float32Array, into?: Float32Array): Float32Array {
  const K = convReduction(p);
  const mG = p.cOut / p.groups;
  const blocks = Math.ceil(mG / MR);
  const packed = into ?? new Float32Array(p.groups * blocks * K * MR);
  for (let g = 0; g < p.groups; g++) {
    for (let m = 0; m < mG; m++) {
      const src = (g * mG + m) * K;
      const dst = (g * blocks + Math.floor(m / MR)) * K * MR + (m % MR);
      for (let k = 0; k < K; k++) packed[dst + k * MR] = w[src + k];
    }
  }
  return packed;
}

export function packedWeightLength(p: ConvPlan): number {
  return p.groups * Math.ceil(p.cOut / p.groups / MR) * convReduction(p) * MR;
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
  const K = convReduction(p);
  const cInG = p.cIn / p.groups;
  const mG = p.cOut / p.groups;
  const blocks = Math.ceil(mG / MR);
  const hw = p.outH * p.outW;
  const chunks = Math.ceil(hw / p.chunk);
  for (let t = from; t < to; t++) {
    const chunk = t % chunks;
    const g = Math.floor(t / chunks) % p.groups;
    const b = Math.floor(t / (chunks * p.groups));
    const j0 = chunk * p.chunk;
    const j1 = Math.min(hw, j0 + p.chunk);
    unroll(p, x, scratch, b, g * cInG, cInG, j0, j1);
    const outBase = (b * p.cOut + g * mG) * hw;
    gemmPanels(p, packed, g * blocks * K * MR, scratch, K, mG, j1 - j0, out, outBase + j0, hw, bias, alpha, g * mG);
  }
}

/** im2col of pixels [j0, j1) into panels of NR pixels: scratch[panel][k][lane]. */
function unroll(p: ConvPlan, x: Float32Array, scratch: Float32Array, b: number, c0: number, cInG: number, j0: number, j1: number): void {
  const { inH, inW, kH, kW, strideH, strideW, padTop, padLeft, outW } = p;
  const K = cInG * kH * kW;
  const plane = inH * inW;
  const xBase = (b * p.cIn + c0) * plane;
  let oy = Math.floor(j0 / outW);
  let ox = j0 - oy * outW;
  for (let j = j0; j < j1; j++) {
    const local = j - j0;
    let dst = Math.floor(local / NR) * K * NR + (local % NR);
    const iy0 = oy * strideH - padTop;
    const ix0 = ox * strideW - padLeft;
    const inside = iy0 >= 0 && ix0 >= 0 && iy0 + kH <= inH && ix0 + kW <= inW;
    for (let c = 0; c < cInG; c++) {
      const cBase = xBase + c * plane;
      if (inside) {
        for (let ky = 0; ky < kH; ky++) {
          let src = cBase + (iy0 + ky) * inW + ix0;
          for (let kx = 0; kx < kW; kx++, dst += NR) scratch[dst] = x[src++];
        }
      } else {
        for (let ky = 0; ky < kH; ky++) {
          const iy = iy0 + ky;
          const rowOk = iy >= 0 && iy < inH;
          for (let kx = 0; kx < kW; kx++, dst += NR) {
            const ix = ix0 + kx;
            scratch[dst] = rowOk && ix >= 0 && ix < inW ? x[cBase + iy * inW + ix] : 0;
          }
        }
      }
    }
    if (++ox === outW) {
      ox = 0;
      oy++;
    }
  }
  // Lanes of the last panel past j1 must not carry stale values into the sums (they are not
  // stored, but NaN/Inf garbage would be harmless anyway); zero them for determinism.
  const used = j1 - j0;
  if (used % NR !== 0) {
    const panel = Math.floor(used / NR);
    for (let k = 0; k < K; k++) {
      for (let lane = used % NR; lane < NR; lane++) scratch[(panel * K + k) * NR + lane] = 0;
    }
  }
}

/**
 * C[m, j] = sum_k A[m, k] * B[k, j] (+ bias[m]) for all m < rows, j < cols, with A packed by
 * packConvWeights and B by unroll. A 4x4 block of C lives in 16 locals through the k loop.
 */
function gemmPanels(
  p: ConvPlan,
  A: Float32Array,
  aOff: number,
  B: Float32Array,
  K: number,
  rows: number,
  cols: number,
  out: Float32Array,
  outOff: number,
  ldOut: number,
  bias: Float32Array | null,
  alpha: Float32Array | null,
  biasOff: number,
): void {
  const panels = Math.ceil(cols / NR);
  const blocks = Math.ceil(rows / MR);
  for (let pb = 0; pb < panels; pb++) {
    const bBase = pb * K * NR;
    const jBase = outOff + pb * NR;
    const width = Math.min(NR, cols - pb * NR);
    for (let mb = 0; mb < blocks; mb++) {
      let ai = aOff + mb * K * MR;
      let bi = bBase;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      // Loop on the A index itself: one induction variable fewer than a k counter, which
      // measurably helps V8 keep the 16 sums in registers.
      for (const end = ai + K * MR; ai < end; ai += MR, bi += NR) {
        const b0 = B[bi], b1 = B[bi + 1], b2 = B[bi + 2], b3 = B[bi + 3];
        let a = A[ai];
        c00 += a * b0; c01 += a * b1; c02 += a * b2; c03 += a * b3;
        a = A[ai + 1];
        c10 += a * b0; c11 += a * b1; c12 += a * b2; c13 += a * b3;
        a = A[ai + 2];
        c20 += a * b0; c21 += a * b1; c22 += a * b2; c23 += a * b3;
        a = A[ai + 3];
        c30 += a * b0; c31 += a * b1; c32 += a * b2; c33 += a * b3;
      }
      const m0 = mb * MR;
      const r = Math.min(MR, rows - m0);
      const c = biasOff + m0;
      store(out, jBase + m0 * ldOut, width, bias ? bias[c] : 0, slope(p, alpha, c), c00, c01, c02, c03);
      if (r > 1) store(out, jBase + (m0 + 1) * ldOut, width, bias ? bias[c + 1] : 0, slope(p, alpha, c + 1), c10, c11, c12, c13);
      if (r > 2) store(out, jBase + (m0 + 2) * ldOut, width, bias ? bias[c + 2] : 0, slope(p, alpha, c + 2), c20, c21, c22, c23);
      if (r > 3) store(out, jBase + (m0 + 3) * ldOut, width, bias ? bias[c + 3] : 0, slope(p, alpha, c + 3), c30, c31, c32, c33);
    }
  }
}

/** The conv output rounded to float32 (as an unfused conv stores it), then the activation. */
function activate(v: number, bias: number, s: number): number {
  const y = Math.fround(v + bias);
  const m = Math.abs(y);
  return (y + m) * 0.5 + s * ((y - m) * 0.5);
}

function store(out: Float32Array, at: number, width: number, bias: number, s: number, v0: number, v1: number, v2: number, v3: number): void {
  out[at] = activate(v0, bias, s);
  if (width > 1) out[at + 1] = activate(v1, bias, s);
  if (width > 2) out[at + 2] = activate(v2, bias, s);
  if (width > 3) out[at + 3] = activate(v3, bias, s);
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
