// Winograd F(2x2, 3x3) for packed plans (packedKernels.ts's four channels to a texel), the same
// algorithm as the CPU backend's (cpu/winograd.ts): three kernels instead of one convolution.
//   input:  V_s = (B^T d B)_s for each 4x4 input tile, 16 products s, four input channels a texel;
//   gemm:   M_s = U_s V_s, four output channels a texel, summed over input channels;
//   output: y = A^T M A + bias, then the activation, written as CONV writes it.
// Why on GL: a packed direct 3x3 conv fetches five texels per 16 multiply-adds, and on GL (and
// on SwiftShader, where the shaders run on the CPU) those fetches are the time. Winograd does 16
// multiply-adds per tile and channel pair where the direct conv does 36, so the GEMM fetches
// 2.25x fewer texels; the transforms add 4 fetches per V texel and 9 per output texel.
// Every sum is formed in the CPU kernels' order (the input transform along rows, then down
// columns; the GEMM channel by channel; the output transform down columns, then along rows), so
// where the GPU rounds as IEEE float32 without fusing (SwiftShader does), the bits are the CPU's.
import { winogradWeights } from '../cpu/winograd.ts';
import type { ConvPlan } from '../cpu/convPlan.ts';
import { Tensor } from '../tensor.ts';
import { groupsOf, packVector } from './packedKernels.ts';
import type { Recording } from './plan.ts';

/**
 * Input channels from which a packed 3x3 conv runs as Winograd. The transforms cost per input
 * channel group and tile whatever the output channels, so narrow inputs gain little; below 32
 * stay MTCNN's P-Net (3, 10, 16 channels) and R-Net (28), whose tiled pyramid levels then keep
 * the bits of the whole level (Winograd blocks would need tiles on even cells).
 */
export const PACKED_WINOGRAD_MIN_CIN = 32;

export function packedWinogradFits(cIn: number, cOut: number, kH: number, kW: number, strideH: number, strideW: number): boolean {
  return kH === 3 && kW === 3 && strideH === 1 && strideW === 1 && cIn >= PACKED_WINOGRAD_MIN_CIN && cOut >= 8;
}

const LANES = [0, 1, 2, 3];

/** Splits the thread index into (s, n, g, t): product, batch item, channel group, tile. */
const decodeProducts = (groups: string) => `
  const i = this.thread.x;
  const t = i % this.constants.T;
  const r1 = Math.floor(i / this.constants.T);
  const g = r1 % this.constants.${groups};
  const r2 = Math.floor(r1 / this.constants.${groups});
  const n = r2 % this.constants.n;
  const s = Math.floor(r2 / this.constants.n);`;

/** The input texel at (row, col) of the tile's window into lanes `name`0..3, zero outside the map. */
const readTap = (name: string, row: string, col: string) => `
  let ${LANES.map((k) => `${name}${k} = 0`).join(';\n  let ')};
  if (${row} >= 0 && ${row} < this.constants.inH && ${col} >= 0 && ${col} < this.constants.inW) {
    const v${name} = x[(xc + ${row}) * this.constants.inW + ${col}];
${LANES.map((k) => `    ${name}${k} = v${name}[${k}];`).join('\n')}
  }`;

/**
 * V_s of one tile and channel group: row a and column b of B^T d B. Each row of B^T has two
 * non-zeros, at [0, 1, 2, 1][a] and [2, 2, 1, 3][a], the second with sign -1 except in row 1:
 * d0 - d2, d1 + d2, d2 - d1, d1 - d3. Constants: ci4, n, T, tW, inH, inW, pT, pL.
 */
export const WINOGRAD_INPUT = `function (x) {${decodeProducts('ci4')}
  const a = Math.floor(s / 4);
  const b = s % 4;
  const y0 = Math.floor(t / this.constants.tW) * 2 - this.constants.pT;
  const x0 = (t % this.constants.tW) * 2 - this.constants.pL;
  const yp = y0 + (a === 3 ? 1 : a);
  const yq = y0 + (a === 2 ? 1 : (a === 3 ? 3 : 2));
  const xp = x0 + (b === 3 ? 1 : b);
  const xq = x0 + (b === 2 ? 1 : (b === 3 ? 3 : 2));
  const sa = a === 1 ? 1 : -1;
  const sb = b === 1 ? 1 : -1;
  const xc = (n * this.constants.ci4 + g) * this.constants.inH;
${readTap('pp', 'yp', 'xp')}
${readTap('pq', 'yp', 'xq')}
${readTap('qp', 'yq', 'xp')}
${readTap('qq', 'yq', 'xq')}
  return [${LANES.map((k) => `(pp${k} + sb * pq${k}) + sa * (qp${k} + sb * qq${k})`).join(', ')}];
}`;

/**
 * M_s = U_s V_s for one tile and output channel group, input channel by input channel.
 * u: one [4] per (s, output group, input channel), four output channels. Constants: ci4, co4, n, T.
 */
export const WINOGRAD_GEMM = `function (v, u) {${decodeProducts('co4')}
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const vAt = (s * this.constants.n + n) * this.constants.ci4 * this.constants.T + t;
  const uAt = (s * this.constants.co4 + g) * this.constants.ci4 * 4;
  for (let c4 = 0; c4 < this.constants.ci4; c4 += 1) {
    const d = v[vAt + c4 * this.constants.T];
${LANES.map((j) => `    const w${j} = u[uAt + c4 * 4 + ${j}];`).join('\n')}
${LANES.map((j) => LANES.map((k) => `    s${k} += d[${j}] * w${j}[${k}];`).join('\n')).join('\n')}
  }
  return [s0, s1, s2, s3];
}`;

/**
 * One output texel: y = (A^T M A)_(i, j) + bias for output pixel (2 ty + i, 2 tx + j), then the
 * activation as CONV applies it. A^T's rows: m0 + m1 + m2 and m1 - m2 - m3, so row i uses
 * products i, i + 1, i + 2 with the last two signed +1 (i = 0) or -1 (i = 1), and so do the
 * columns. Constants: co4, n, T, tW, outH, outW, act.
 */
export const WINOGRAD_OUTPUT = `function (m, b, alpha) {
  const i = this.thread.x;
  const ox = i % this.constants.outW;
  const r1 = Math.floor(i / this.constants.outW);
  const oy = r1 % this.constants.outH;
  const r2 = Math.floor(r1 / this.constants.outH);
  const o4 = r2 % this.constants.co4;
  const n = Math.floor(r2 / this.constants.co4);
  const ti = oy % 2;
  const tj = ox % 2;
  const sr = ti === 0 ? 1 : -1;
  const sc = tj === 0 ? 1 : -1;
  const plane = this.constants.n * this.constants.co4 * this.constants.T;
  const at = (n * this.constants.co4 + o4) * this.constants.T + Math.floor(oy / 2) * this.constants.tW + Math.floor(ox / 2);
${[0, 1, 2].map((c) => [0, 1, 2].map((r) => `  const m${r}${c} = m[at + ((ti + ${r}) * 4 + tj + ${c}) * plane];`).join('\n')).join('\n')}
  const bb = b[o4];
${LANES.map((k) => [0, 1, 2].map((c) => `  const t${c}${k} = (m0${c}[${k}] + sr * m1${c}[${k}]) + sr * m2${c}[${k}];`).join('\n')).join('\n')}
${LANES.map((k) => `  let y${k} = ((t0${k} + sc * t1${k}) + sc * t2${k}) + bb[${k}];`).join('\n')}
  if (this.constants.act === 1) {
${LANES.map((k) => `    y${k} = Math.max(y${k}, 0);`).join('\n')}
  }
  if (this.constants.act === 2) {
    const sl = alpha[o4];
${LANES.map((k) => `    if (y${k} < 0) { y${k} = y${k} * sl[${k}]; }`).join('\n')}
  }
  return [y0, y1, y2, y3];
}`;

/**
 * The 16 transformed weight matrices U_s = (G g G^T)_s (the CPU backend's, rounded once from
 * float64) as the GEMM kernel reads them: entry ((s * co4 + o4) * ci4 + c4) * 4 + j holds output
 * channels 4 o4 .. 4 o4 + 3 of input channel 4 c4 + j; zero past cOut and cIn.
 */
export function packWinogradWeights(w: Float32Array, cOut: number, cIn: number): Float32Array {
  const co4 = groupsOf(cOut);
  const ci4 = groupsOf(cIn);
  // The CPU layout: product s, block of 4 output rows, input channel, row in block.
  const cpu = winogradWeights({ cIn, cOut } as ConvPlan, w);
  const setFloats = co4 * 4 * cIn;
  const out = new Float32Array(16 * co4 * ci4 * 16);
  for (let s = 0; s < 16; s++) {
    for (let o4 = 0; o4 < co4; o4++) {
      const from = s * setFloats + o4 * 4 * cIn;
      out.set(cpu.subarray(from, from + 4 * cIn), ((s * co4 + o4) * ci4) * 16);
    }
  }
  return out;
}

/** What recording a packed Winograd conv needs from its caller. */
export interface WinogradConv {
  x: Float32Array;
  n: number;
  cIn: number;
  cOut: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  padTop: number;
  padLeft: number;
  act: number;
  weight: Float32Array;
  bias: Float32Array;
  alpha: Float32Array;
}

/** Records the three steps; answers the packed output placeholder [n, cOut, outH, outW]. */
export function recordWinogradConv(recording: Recording, c: WinogradConv, upload: (values: Float32Array) => unknown): Tensor {
  const ci4 = groupsOf(c.cIn);
  const co4 = groupsOf(c.cOut);
  const tH = Math.ceil(c.outH / 2);
  const tW = Math.ceil(c.outW / 2);
  const T = tH * tW;
  const input = { ci4, n: c.n, T, tW, inH: c.inH, inW: c.inW, pT: c.padTop, pL: c.padLeft };
  const v = recording.record(WINOGRAD_INPUT, `pwinoIn|${JSON.stringify(input)}`, input, [16 * c.n, ci4 * 4, tH, tW], [c.x], 16 * c.n * ci4 * T);
  const gemm = { ci4, co4, n: c.n, T };
  const m = recording.record(WINOGRAD_GEMM, `pwinoGemm|${JSON.stringify(gemm)}`, gemm, [16 * c.n, co4 * 4, tH, tW], [v.data, upload(packWinogradWeights(c.weight, c.cOut, c.cIn))], 16 * c.n * co4 * T);
  const output = { co4, n: c.n, T, tW, outH: c.outH, outW: c.outW, act: c.act };
  const shape = [c.n, c.cOut, c.outH, c.outW];
  return recording.record(WINOGRAD_OUTPUT, `pwinoOut|${JSON.stringify(output)}`, output, shape, [m.data, upload(packVector(c.bias, c.cOut)), upload(packVector(c.alpha, c.cOut))], c.n * co4 * c.outH * c.outW);
}
