// Winograd F(2x2, 3x3) as gpu.js kernels, the same algorithm as the CPU backend's (cpu/winograd.ts):
// three kernels instead of one 3x3 stride-1 convolution.
//   input:  V_s = (B^T d B)_s for each 4x4 input tile, 16 products s;
//   gemm:   M_s = U_s V_s, summed over input channels;
//   output: y = A^T M A + bias, then the activation, written as the direct conv writes it.
// Each comes in two layouts: packed (packedKernels.ts: four channels to a value, the GL plans')
// and plain (one float per thread, kernels.ts's: WebGPU, webasm, cpu). Plain kernels take their
// sizes in `d`, as kernels.ts's do, so one compiled kernel serves every map size.
// Why: a direct conv reads one input and one weight per multiply-add (plain) or five texels per
// 16 (packed), and on GL and WebGPU, SwiftShader's included, those reads are the time. Winograd
// does 16 multiply-adds per tile and channel pair where the direct conv does 36, so the GEMM
// reads 2.25x less; the transforms add 4 reads per V value and 9 per output.
// Every sum is formed in the CPU kernels' order (the input transform along rows, then down
// columns; the GEMM channel by channel; the output transform down columns, then along rows), so
// where a device rounds as IEEE float32 without fusing (SwiftShader does), the bits are the CPU's.
import { winogradWeights } from '../cpu/winograd.ts';
import type { ConvPlan } from '../cpu/convPlan.ts';
import { groupsOf } from './packedKernels.ts';

/**
 * Input channels from which a 3x3 stride-1 conv runs as Winograd. The transforms cost per input
 * channel and tile whatever the output channels, so narrow inputs gain little; below 32 stay
 * MTCNN's P-Net (3, 10, 16 channels) and R-Net (28), whose tiled pyramid levels then keep the
 * bits of the whole level (Winograd blocks would need tiles on even cells).
 */
export const GPU_WINOGRAD_MIN_CIN = 32;

export function gpuWinogradFits(cIn: number, cOut: number, kH: number, kW: number, strideH: number, strideW: number, groups: number): boolean {
  return groups === 1 && kH === 3 && kW === 3 && strideH === 1 && strideW === 1 && cIn >= GPU_WINOGRAD_MIN_CIN && cOut >= 8;
}

/** How a layout names its sizes in kernel source, and its values' lanes. */
interface Layout {
  /** Channel count (groups of four when packed) of the input and output. */
  cIn: string;
  cOut: string;
  /** Sizes: constants when packed (plans have fixed shapes), `d` entries when plain. */
  n: string;
  T: string;
  tW: string;
  inH: string;
  inW: string;
  pT: string;
  pL: string;
  outH: string;
  outW: string;
  /** Lane suffixes of a value: ['[0]'..'[3]'] packed, [''] plain. */
  lanes: string[];
}

const PACKED: Layout = {
  cIn: 'this.constants.ci4', cOut: 'this.constants.co4', n: 'this.constants.n', T: 'this.constants.T', tW: 'this.constants.tW',
  inH: 'this.constants.inH', inW: 'this.constants.inW', pT: 'this.constants.pT', pL: 'this.constants.pL',
  outH: 'this.constants.outH', outW: 'this.constants.outW', lanes: ['[0]', '[1]', '[2]', '[3]'],
};

/**
 * Plain kernels' d: [inH, inW, outH, outW, padTop, padLeft, tW, T, n], read into locals first:
 * gpu.js's GL code hoists a read of an argument used inside an index into a variable named by
 * its place in the statement, so two such statements in one block define the same name twice.
 */
const PLAIN_SIZES = ['inH', 'inW', 'outH', 'outW', 'pT', 'pL', 'tW', 'T', 'n'];
const PLAIN: Layout = {
  cIn: 'this.constants.cIn', cOut: 'this.constants.cOut', ...Object.fromEntries(PLAIN_SIZES.map((k) => [k, `size${k}`])), lanes: [''],
} as Layout;
const PLAIN_PROLOGUE = PLAIN_SIZES.map((k, i) => `\n  const size${k} = d[${i}];`).join('');

/** The whole groups of four input channels and the rest: the constants of the plain GEMM's loops (and of kernels.ts's CONV_1X1). */
export function fourChannelSteps(cIn: number): { quads: number; rest: number } {
  return { quads: Math.floor(cIn / 4), rest: cIn % 4 };
}

/** The plain kernels' d for a conv's geometry and batch. */
export function plainWinogradDims(n: number, inH: number, inW: number, outH: number, outW: number, padTop: number, padLeft: number): number[] {
  const tW = Math.ceil(outW / 2);
  return [inH, inW, outH, outW, padTop, padLeft, tW, Math.ceil(outH / 2) * tW, n];
}

/** The plain kernels' sizes as locals (PLAIN_SIZES); nothing for packed ones, whose sizes are constants. */
const prologue = (L: Layout) => (L === PLAIN ? PLAIN_PROLOGUE : '');

const values = (L: Layout, lane: (suffix: string, k: number) => string) => L.lanes.map(lane);
const result = (L: Layout, items: string[]) => (L.lanes.length === 1 ? items[0] : `[${items.join(', ')}]`);

/** Splits the thread index into (s, n, g, t): product, batch item, channel (group), tile. */
const decodeProducts = (L: Layout, channels: string) => `
  const i = this.thread.x;
  const t = i % ${L.T};
  const r1 = Math.floor(i / ${L.T});
  const g = r1 % ${channels};
  const r2 = Math.floor(r1 / ${channels});
  const n = r2 % ${L.n};
  const s = Math.floor(r2 / ${L.n});`;

/** The input value at (row, col) of the tile's window into `name` (lanes name0.. when packed), zero outside the map. */
const readTap = (L: Layout, name: string, row: string, col: string) => `
${values(L, (_, k) => `  let ${name}${k} = 0;`).join('\n')}
  if (${row} >= 0 && ${row} < ${L.inH} && ${col} >= 0 && ${col} < ${L.inW}) {
    const v${name} = x[(xc + ${row}) * ${L.inW} + ${col}];
${values(L, (suffix, k) => `    ${name}${k} = v${name}${suffix};`).join('\n')}
  }`;

/**
 * V_s of one tile and channel (group): row a and column b of B^T d B. Each row of B^T has two
 * non-zeros, at [0, 1, 2, 1][a] and [2, 2, 1, 3][a], the second with sign -1 except in row 1:
 * d0 - d2, d1 + d2, d2 - d1, d1 - d3. Packed constants: ci4, n, T, tW, inH, inW, pT, pL.
 */
const inputSource = (L: Layout, params: string) => `function (${params}) {${prologue(L)}${decodeProducts(L, L.cIn)}
  const a = Math.floor(s / 4);
  const b = s % 4;
  const y0 = Math.floor(t / ${L.tW}) * 2 - ${L.pT};
  const x0 = (t % ${L.tW}) * 2 - ${L.pL};
  const yp = y0 + (a === 3 ? 1 : a);
  const yq = y0 + (a === 2 ? 1 : (a === 3 ? 3 : 2));
  const xp = x0 + (b === 3 ? 1 : b);
  const xq = x0 + (b === 2 ? 1 : (b === 3 ? 3 : 2));
  const sa = a === 1 ? 1 : -1;
  const sb = b === 1 ? 1 : -1;
  const xc = (n * ${L.cIn} + g) * ${L.inH};
${readTap(L, 'pp', 'yp', 'xp')}
${readTap(L, 'pq', 'yp', 'xq')}
${readTap(L, 'qp', 'yq', 'xp')}
${readTap(L, 'qq', 'yq', 'xq')}
  return ${result(L, values(L, (_, k) => `(pp${k} + sb * pq${k}) + sa * (qp${k} + sb * qq${k})`))};
}`;

/**
 * M_s = U_s V_s for one tile and output channel (group), input channel by input channel. Packed,
 * u holds one [4] per (s, output group, input channel): four output channels; plain, one float
 * per (s, output channel, input channel). Packed constants: ci4, co4, n, T.
 */
const gemmSource = (L: Layout, params: string) => {
  const packed = L.lanes.length > 1;
  const step = [0, 1, 2, 3].map((j) => `    const w${j} = u[uAt + c * 4 + ${j}];`).concat(
    [0, 1, 2, 3].flatMap((j) => L.lanes.map((suffix, k) => `    s${k} += e[${j}] * w${j}${suffix};`)));
  // Plain: four input channels per loop step (the loop's own cost was a fifth of MobileFaceNet's
  // time on SwiftShader's WebGPU), still summed one channel after another; the counts are the
  // constants quads and rest (fourChannelSteps), since WebGL1 compares a loop index with
  // constants only.
  const loop = packed
    ? `  for (let c = 0; c < ${L.cIn}; c += 1) {
    const e = v[vAt + c * ${L.T}];
${step.join('\n')}
  }`
    : `  for (let q = 0; q < this.constants.quads; q += 1) {
    const c = q * 4;
    const at = vAt + c * ${L.T};
    s0 += v[at] * u[uAt + c];
    s0 += v[at + ${L.T}] * u[uAt + c + 1];
    s0 += v[at + 2 * ${L.T}] * u[uAt + c + 2];
    s0 += v[at + 3 * ${L.T}] * u[uAt + c + 3];
  }
  for (let r = 0; r < this.constants.rest; r += 1) {
    const c = this.constants.quads * 4 + r;
    s0 += v[vAt + c * ${L.T}] * u[uAt + c];
  }`;
  return `function (${params}) {${prologue(L)}${decodeProducts(L, L.cOut)}
${values(L, (_, k) => `  let s${k} = 0;`).join('\n')}
  const vAt = (s * ${L.n} + n) * ${L.cIn} * ${L.T} + t;
  const uAt = (s * ${L.cOut} + g) * ${L.cIn}${packed ? ' * 4' : ''};
${loop}
  return ${result(L, values(L, (_, k) => `s${k}`))};
}`;
};

/**
 * One output (four channels when packed): y = (A^T M A)_(i, j) + bias for output pixel
 * (2 ty + i, 2 tx + j), then the activation as the direct conv applies it. A^T's rows:
 * m0 + m1 + m2 and m1 - m2 - m3, so row i uses products i, i + 1, i + 2 with the last two signed
 * +1 (i = 0) or -1 (i = 1), and so do the columns. Packed constants: co4, n, T, tW, outH, outW, act.
 */
const outputSource = (L: Layout, params: string) => {
  const packed = L.lanes.length > 1;
  const m = (r: number, c: number) => `m${r}${c}`;
  const activation = packed
    ? `  if (this.constants.act === 1) {
${values(L, (_, k) => `    y${k} = Math.max(y${k}, 0);`).join('\n')}
  }
  if (this.constants.act === 2) {
    const sl = alpha[g];
${values(L, (suffix, k) => `    if (y${k} < 0) { y${k} = y${k} * sl${suffix}; }`).join('\n')}
  }`
    : `  if (this.constants.act === 1 && y0 < 0) { y0 = 0; }
  if (this.constants.act === 2 && y0 < 0) { y0 = y0 * alpha[g]; }`;
  return `function (${params}) {${prologue(L)}
  const i = this.thread.x;
  const ox = i % ${L.outW};
  const r1 = Math.floor(i / ${L.outW});
  const oy = r1 % ${L.outH};
  const r2 = Math.floor(r1 / ${L.outH});
  const g = r2 % ${L.cOut};
  const n = Math.floor(r2 / ${L.cOut});
  const ti = oy % 2;
  const tj = ox % 2;
  const sr = ti === 0 ? 1 : -1;
  const sc = tj === 0 ? 1 : -1;
  const plane = ${L.n} * ${L.cOut} * ${L.T};
  const at = (n * ${L.cOut} + g) * ${L.T} + Math.floor(oy / 2) * ${L.tW} + Math.floor(ox / 2);
${[0, 1, 2].flatMap((c) => [0, 1, 2].map((r) => `  const ${m(r, c)} = m[at + ((ti + ${r}) * 4 + tj + ${c}) * plane];`)).join('\n')}
  const bb = b[g];
${values(L, (suffix, k) => [0, 1, 2].map((c) => `  const t${c}${k} = (${m(0, c)}${suffix} + sr * ${m(1, c)}${suffix}) + sr * ${m(2, c)}${suffix};`).join('\n')).join('\n')}
${values(L, (suffix, k) => `  let y${k} = ((t0${k} + sc * t1${k}) + sc * t2${k}) + bb${suffix};`).join('\n')}
${activation}
  return ${result(L, values(L, (_, k) => `y${k}`))};
}`;
};

export const PACKED_WINOGRAD_INPUT = inputSource(PACKED, 'x');
export const PACKED_WINOGRAD_GEMM = gemmSource(PACKED, 'v, u');
export const PACKED_WINOGRAD_OUTPUT = outputSource(PACKED, 'm, b, alpha');
export const WINOGRAD_INPUT = inputSource(PLAIN, 'x, d');
export const WINOGRAD_GEMM = gemmSource(PLAIN, 'v, u, d');
export const WINOGRAD_OUTPUT = outputSource(PLAIN, 'm, b, alpha, d');

/** The CPU backend's U_s = (G g G^T)_s, rounded once from float64: product s, block of 4 output rows, input channel, row in block. */
function cpuLayoutWeights(w: Float32Array, cOut: number, cIn: number): Float32Array {
  return winogradWeights({ cIn, cOut } as ConvPlan, w);
}

/**
 * U_s as the packed GEMM reads it: entry ((s * co4 + o4) * ci4 + c4) * 4 + j holds output channels
 * 4 o4 .. 4 o4 + 3 of input channel 4 c4 + j; zero past cOut and cIn.
 */
export function packWinogradWeights(w: Float32Array, cOut: number, cIn: number): Float32Array {
  const co4 = groupsOf(cOut);
  const ci4 = groupsOf(cIn);
  const cpu = cpuLayoutWeights(w, cOut, cIn);
  const setFloats = co4 * 4 * cIn;
  const out = new Float32Array(16 * co4 * ci4 * 16);
  for (let s = 0; s < 16; s++) {
    for (let o4 = 0; o4 < co4; o4++) {
      const from = s * setFloats + o4 * 4 * cIn;
      out.set(cpu.subarray(from, from + 4 * cIn), (s * co4 + o4) * ci4 * 16);
    }
  }
  return out;
}

/** U_s as the plain GEMM reads it: entry (s * cOut + o) * cIn + c. */
export function plainWinogradWeights(w: Float32Array, cOut: number, cIn: number): Float32Array {
  const cpu = cpuLayoutWeights(w, cOut, cIn);
  const setFloats = groupsOf(cOut) * 4 * cIn;
  const out = new Float32Array(16 * cOut * cIn);
  for (let s = 0; s < 16; s++) {
    for (let o = 0; o < cOut; o++) {
      const from = s * setFloats + Math.floor(o / 4) * 4 * cIn + (o % 4);
      for (let c = 0; c < cIn; c++) out[(s * cOut + o) * cIn + c] = cpu[from + c * 4];
    }
  }
  return out;
}
