// gpu.js kernel sources for packed plans: activations held four channels to a value (a kernel
// returning Array(4), which GL stores as one RGBA texel), so one texture fetch reads four
// channels. Layout "NC4HW4": texel ((n * C4 + c4) * H + y) * W + x holds channels 4*c4 .. 4*c4+3
// of position (y, x); channels past C are zero, so they add nothing to any sum.
//
// Why: on GL every array read is a texture fetch plus gpu.js's index arithmetic, and the plain
// kernels (kernels.ts) pay two of them per multiply-add. A packed convolution computes four
// output channels per thread from one input fetch and four weight fetches per tap: 16
// multiply-adds for 5 fetches. Plans have fixed shapes, so every size is a compile-time
// constant here: no size argument to fetch, loop bounds the shader compiler can see.
// Loops step with `+= 1` (see kernels.ts).

/** Splits the texel index into (n, c4, y, x): C4, H, W constants named by the caller. */
const decode = (C4: string, H: string, W: string) => `
  const i = this.thread.x;
  const ox = i % this.constants.${W};
  const r1 = Math.floor(i / this.constants.${W});
  const oy = r1 % this.constants.${H};
  const r2 = Math.floor(r1 / this.constants.${H});
  const o4 = r2 % this.constants.${C4};
  const n = Math.floor(r2 / this.constants.${C4});`;

/** Four channels' running sums, s0..s3. */
const ZERO_SUMS = `  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;`;

/** The input pixel under the window's top-left tap, (iy0, ix0), of output (oy, ox). */
const WINDOW_ORIGIN = `  const iy0 = oy * this.constants.sH - this.constants.pT;
  const ix0 = ox * this.constants.sW - this.constants.pL;`;

/**
 * The 4x4 block of a packed conv tap: input texel v (four channels) times the four weight texels
 * from w[t] (one per input channel, four output channels each) into s0..s3. `indent` keeps the
 * generated source readable where it is printed.
 */
const multiplyAdd4x4 = (indent: string) => [
  'const w0 = w[t];', 'const w1 = w[t + 1];', 'const w2 = w[t + 2];', 'const w3 = w[t + 3];',
  ...[0, 1, 2, 3].map((o) => `s${o} += v[0] * w0[${o}] + v[1] * w1[${o}] + v[2] * w2[${o}] + v[3] * w3[${o}];`),
].map((line) => indent + line).join('\n');

/** PReLU of the four lanes y0..y3 with the slopes `slopes` (a [4] of the kernel), as generated source. */
const preluLanes = (slopes: string) => `    const a = ${slopes};
    if (y0 < 0) { y0 = y0 * a[0]; }
    if (y1 < 0) { y1 = y1 * a[1]; }
    if (y2 < 0) { y2 = y2 * a[2]; }
    if (y3 < 0) { y3 = y3 * a[3]; }`;

/** The end of every packed conv: bias, then ReLU (act 1) or PReLU (act 2), four channels. */
const BIAS_ACTIVATION = `  const bb = b[o4];
  let y0 = s0 + bb[0];
  let y1 = s1 + bb[1];
  let y2 = s2 + bb[2];
  let y3 = s3 + bb[3];
  if (this.constants.act === 1) {
    y0 = Math.max(y0, 0);
    y1 = Math.max(y1, 0);
    y2 = Math.max(y2, 0);
    y3 = Math.max(y3, 0);
  }
  if (this.constants.act === 2) {
${preluLanes('alpha[o4]')}
  }
  return [y0, y1, y2, y3];`;

/** Plain NCHW (flat) to packed; constants c, c4, h, w. */
export const PACK = `function (x) {${decode('c4', 'h', 'w')}
  const plane = this.constants.h * this.constants.w;
  const at = oy * this.constants.w + ox;
  const c0 = o4 * 4;
  const base = (n * this.constants.c + c0) * plane + at;
  let v0 = 0;
  let v1 = 0;
  let v2 = 0;
  let v3 = 0;
  if (c0 < this.constants.c) { v0 = x[base]; }
  if (c0 + 1 < this.constants.c) { v1 = x[base + plane]; }
  if (c0 + 2 < this.constants.c) { v2 = x[base + 2 * plane]; }
  if (c0 + 3 < this.constants.c) { v3 = x[base + 3 * plane]; }
  return [v0, v1, v2, v3];
}`;

/** Packed to plain NCHW (flat); constants c, c4, h, w. */
export const UNPACK = `function (x) {
  const i = this.thread.x;
  const ox = i % this.constants.w;
  const r1 = Math.floor(i / this.constants.w);
  const oy = r1 % this.constants.h;
  const r2 = Math.floor(r1 / this.constants.h);
  const c = r2 % this.constants.c;
  const n = Math.floor(r2 / this.constants.c);
  const v = x[((n * this.constants.c4 + Math.floor(c / 4)) * this.constants.h + oy) * this.constants.w + ox];
  const j = c % 4;
  if (j === 0) { return v[0]; }
  if (j === 1) { return v[1]; }
  if (j === 2) { return v[2]; }
  return v[3];
}`;

/**
 * Convolution with groups = 1, four output channels per thread. w: one [4] per (output group,
 * input channel, ky, kx), the four output channels' weights (packWeights). b, alpha: one [4]
 * per output group. act as kernels.ts's CONV. Constants: ci4, co4, kH, kW, sH, sW, inH, inW,
 * outH, outW, pT, pL, act.
 */
export const CONV = `function (x, w, b, alpha) {${decode('co4', 'outH', 'outW')}
${WINDOW_ORIGIN}
${ZERO_SUMS}
  for (let c4 = 0; c4 < this.constants.ci4; c4 += 1) {
    const xc = (n * this.constants.ci4 + c4) * this.constants.inH;
    const wc = (o4 * this.constants.ci4 + c4) * this.constants.kH;
    for (let ky = 0; ky < this.constants.kH; ky += 1) {
      const iy = iy0 + ky;
      if (iy >= 0 && iy < this.constants.inH) {
        const xr = (xc + iy) * this.constants.inW;
        const wr = (wc + ky) * this.constants.kW;
        for (let kx = 0; kx < this.constants.kW; kx += 1) {
          const ix = ix0 + kx;
          if (ix >= 0 && ix < this.constants.inW) {
            const v = x[xr + ix];
            const t = (wr + kx) * 4;
${multiplyAdd4x4('            ')}
          }
        }
      }
    }
  }
${BIAS_ACTIVATION}
}`;

/** CONV for a 1x1 window without padding: no window loops, no bounds checks. */
export const CONV_1X1 = `function (x, w, b, alpha) {${decode('co4', 'outH', 'outW')}
${ZERO_SUMS}
  const at = oy * this.constants.sH * this.constants.inW + ox * this.constants.sW;
  const plane = this.constants.inH * this.constants.inW;
  for (let c4 = 0; c4 < this.constants.ci4; c4 += 1) {
    const v = x[(n * this.constants.ci4 + c4) * plane + at];
    const t = (o4 * this.constants.ci4 + c4) * 4;
${multiplyAdd4x4('    ')}
  }
${BIAS_ACTIVATION}
}`;

/**
 * Depthwise convolution (groups = channels in = channels out): four channels per thread, one
 * input and one weight fetch per tap. w: one [4] per (channel group, ky, kx). Constants as CONV
 * (ci4 = co4).
 */
export const DEPTHWISE = `function (x, w, b, alpha) {${decode('co4', 'outH', 'outW')}
${WINDOW_ORIGIN}
${ZERO_SUMS}
  const xc = (n * this.constants.co4 + o4) * this.constants.inH;
  for (let ky = 0; ky < this.constants.kH; ky += 1) {
    const iy = iy0 + ky;
    if (iy >= 0 && iy < this.constants.inH) {
      const xr = (xc + iy) * this.constants.inW;
      const wr = (o4 * this.constants.kH + ky) * this.constants.kW;
      for (let kx = 0; kx < this.constants.kW; kx += 1) {
        const ix = ix0 + kx;
        if (ix >= 0 && ix < this.constants.inW) {
          const v = x[xr + ix];
          const k = w[wr + kx];
          s0 += v[0] * k[0];
          s1 += v[1] * k[1];
          s2 += v[2] * k[2];
          s3 += v[3] * k[3];
        }
      }
    }
  }
${BIAS_ACTIVATION}
}`;

/**
 * Pooling of four channels at once: kind 0 max, 1 average, 2 L2, as kernels.ts's POOL.
 * Constants: c4, kind, kH, kW, sH, sW, inH, inW, outH, outW, pT, pL, pB, pR, includePad.
 */
export const POOL = `function (x) {${decode('c4', 'outH', 'outW')}
  const xc = (n * this.constants.c4 + o4) * this.constants.inH;
  const wy0 = oy * this.constants.sH - this.constants.pT;
  const wx0 = ox * this.constants.sW - this.constants.pL;
  let m0 = -3.4e38;
  let m1 = -3.4e38;
  let m2 = -3.4e38;
  let m3 = -3.4e38;
${ZERO_SUMS}
  let cells = 0;
  for (let ky = 0; ky < this.constants.kH; ky += 1) {
    const iy = wy0 + ky;
    if (iy >= 0 && iy < this.constants.inH) {
      for (let kx = 0; kx < this.constants.kW; kx += 1) {
        const ix = wx0 + kx;
        if (ix >= 0 && ix < this.constants.inW) {
          const v = x[(xc + iy) * this.constants.inW + ix];
          m0 = Math.max(m0, v[0]);
          m1 = Math.max(m1, v[1]);
          m2 = Math.max(m2, v[2]);
          m3 = Math.max(m3, v[3]);
          if (this.constants.kind === 2) {
            s0 += v[0] * v[0];
            s1 += v[1] * v[1];
            s2 += v[2] * v[2];
            s3 += v[3] * v[3];
          } else {
            s0 += v[0];
            s1 += v[1];
            s2 += v[2];
            s3 += v[3];
          }
          cells += 1;
        }
      }
    }
  }
  if (this.constants.kind === 0) { return [m0, m1, m2, m3]; }
  if (this.constants.kind === 2) { return [Math.sqrt(s0), Math.sqrt(s1), Math.sqrt(s2), Math.sqrt(s3)]; }
  let count = cells;
  if (this.constants.includePad === 1) {
    count = (Math.min(wy0 + this.constants.kH, this.constants.inH + this.constants.pB) - wy0) * (Math.min(wx0 + this.constants.kW, this.constants.inW + this.constants.pR) - wx0);
  }
  return [s0 / count, s1 / count, s2 / count, s3 / count];
}`;

/** Per-channel affine (kind 0), PReLU (1) or ReLU (2) of a packed tensor; p, q one [4] per channel group. Constants: c4, plane. */
export const CHANNEL_MAP = `function (x, p, q) {
  const i = this.thread.x;
  const g = Math.floor(i / this.constants.plane) % this.constants.c4;
  const v = x[i];
  let y0 = v[0];
  let y1 = v[1];
  let y2 = v[2];
  let y3 = v[3];
  if (this.constants.kind === 0) {
    const a = p[g];
    const s = q[g];
    return [y0 * a[0] + s[0], y1 * a[1] + s[1], y2 * a[2] + s[2], y3 * a[3] + s[3]];
  }
  if (this.constants.kind === 1) {
${preluLanes('p[g]')}
    return [y0, y1, y2, y3];
  }
  return [Math.max(y0, 0), Math.max(y1, 0), Math.max(y2, 0), Math.max(y3, 0)];
}`;

export const ADD = `function (a, b) {
  const u = a[this.thread.x];
  const v = b[this.thread.x];
  return [u[0] + v[0], u[1] + v[1], u[2] + v[2], u[3] + v[3]];
}`;

/**
 * Up to four packed tensors joined along the channels, every part a whole number of channel
 * groups (c0..c3 are group counts; unused parts have 0). Constants: c4 (their sum), plane.
 */
export const CONCAT4 = `function (x0, x1, x2, x3) {
  const i = this.thread.x;
  const at = i % this.constants.plane;
  const r = Math.floor(i / this.constants.plane);
  const g = r % this.constants.c4;
  const n = Math.floor(r / this.constants.c4);
  const e1 = this.constants.c0 + this.constants.c1;
  const e2 = e1 + this.constants.c2;
  if (g < this.constants.c0) { return x0[(n * this.constants.c0 + g) * this.constants.plane + at]; }
  if (g < e1) { return x1[(n * this.constants.c1 + g - this.constants.c0) * this.constants.plane + at]; }
  if (g < e2) { return x2[(n * this.constants.c2 + g - e1) * this.constants.plane + at]; }
  return x3[(n * this.constants.c3 + g - e2) * this.constants.plane + at];
}`;

/** Channel groups of c channels. */
export const groupsOf = (c: number): number => Math.ceil(c / 4);

/**
 * Flat values (four per entry) as one value of four per thread: how weights become a texture of
 * Array(4) texels once per plan (gpu.js's GL kernels cannot read an argument of [4]s as such).
 */
export const UPLOAD = `function (v) {
  const t = this.thread.x * 4;
  return [v[t], v[t + 1], v[t + 2], v[t + 3]];
}`;

/** A per-channel vector, four channels per entry, zeros past the end. */
export function packVector(v: Float32Array, c: number): Float32Array {
  const out = new Float32Array(groupsOf(c) * 4);
  out.set(v.subarray(0, c));
  return out;
}

/**
 * Weights [cOut, cIn, kH, kW] for CONV and CONV_1X1: entry ((o4 * ci4 + c4) * kH + ky) * kW + kx)
 * * 4 + j holds the four output channels 4*o4.. of input channel 4*c4 + j at (ky, kx).
 */
export function packConvWeights(w: Float32Array, cOut: number, cIn: number, kH: number, kW: number): Float32Array {
  const co4 = groupsOf(cOut);
  const ci4 = groupsOf(cIn);
  const out = new Float32Array(co4 * ci4 * kH * kW * 16);
  let at = 0;
  for (let o4 = 0; o4 < co4; o4++) {
    for (let c4 = 0; c4 < ci4; c4++) {
      for (let ky = 0; ky < kH; ky++) {
        for (let kx = 0; kx < kW; kx++) {
          for (let j = 0; j < 4; j++) {
            const c = c4 * 4 + j;
            for (let k = 0; k < 4; k++, at++) {
              const o = o4 * 4 + k;
              if (o < cOut && c < cIn) out[at] = w[((o * cIn + c) * kH + ky) * kW + kx];
            }
          }
        }
      }
    }
  }
  return out;
}

/** Depthwise weights [c, 1, kH, kW] for DEPTHWISE: entry (g * kH + ky) * kW + kx holds channels 4*g.. at (ky, kx). */
export function packDepthwiseWeights(w: Float32Array, c: number, kH: number, kW: number): Float32Array {
  const out = new Float32Array(groupsOf(c) * kH * kW * 4);
  let at = 0;
  for (let g = 0; g < groupsOf(c); g++) {
    for (let ky = 0; ky < kH; ky++) {
      for (let kx = 0; kx < kW; kx++, at += 4) {
        for (let k = 0; k < 4 && g * 4 + k < c; k++) out[at + k] = w[((g * 4 + k) * kH + ky) * kW + kx];
      }
    }
  }
  return out;
}
