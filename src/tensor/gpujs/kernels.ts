// gpu.js kernel sources, one per op. Written as strings so no TypeScript transpiler touches
// what gpu.js parses. What shapes the loops (channels, kernel size, stride) is a compile-time
// constant (`this.constants`); spatial sizes and padding come in the last argument `d`, so one
// compiled kernel serves every pyramid level and every image size (a kernel per size would
// compile ~80 kernels per new photo size, each holding its own WebAssembly memory).
// Outputs are flat (1-D): thread x is the NCHW index. Loops step with `+= 1`, not `++`: gpu.js
// types a loop variable that starts from a computed bound as a float, and WGSL has no `++` on floats.
import { expfSource } from './expfSource.ts';

/** Splits the flat index into (n, c, y, x) of an NCHW output: C a constant, H and W from `d`. */
const decode = (C: string, H: string, W: string) => `
  const i = this.thread.x;
  const ox = i % ${W};
  const r1 = Math.floor(i / ${W});
  const oy = r1 % ${H};
  const r2 = Math.floor(r1 / ${H});
  const oc = r2 % this.constants.${C};
  const n = Math.floor(r2 / this.constants.${C});`;

/**
 * d = [inH, inW, outH, outW, padTop, padLeft]. The window is clipped to the image once, before
 * the loops, so the inner loop is a bare multiply-add over contiguous taps (gpu.js's webasm runs
 * four neighbouring cells as SIMD lanes, and a branch per tap costs every lane). Taps are still
 * summed channel by channel, row by row, as the CPU backend does.
 */
export const CONV = `function (x, w, b, alpha, d) {${decode('cOut', 'd[2]', 'd[3]')}
  const g = Math.floor(oc / this.constants.cOutG);
  const iy0 = oy * this.constants.sH - d[4];
  const ix0 = ox * this.constants.sW - d[5];
  const kyLo = Math.max(0, 0 - iy0);
  const kyHi = Math.min(this.constants.kH, d[0] - iy0);
  const kxLo = Math.max(0, 0 - ix0);
  const kxHi = Math.min(this.constants.kW, d[1] - ix0);
  const plane = d[0] * d[1];
  let xc = (n * this.constants.cIn + g * this.constants.cInG) * plane + iy0 * d[1] + ix0;
  let wc = oc * this.constants.cInG * this.constants.kH * this.constants.kW;
  let sum = 0;
  for (let c = 0; c < this.constants.cInG; c += 1) {
    for (let ky = kyLo; ky < kyHi; ky += 1) {
      const xr = xc + ky * d[1];
      const wr = wc + ky * this.constants.kW;
      for (let kx = kxLo; kx < kxHi; kx += 1) {
        sum += x[xr + kx] * w[wr + kx];
      }
    }
    xc += plane;
    wc += this.constants.kH * this.constants.kW;
  }
  let y = sum + b[oc];
  if (this.constants.act === 1 && y < 0) { y = 0; }
  if (this.constants.act === 2 && y < 0) { y = y * alpha[oc]; }
  return y;
}`;

/**
 * A 1x1 convolution without padding (MobileFaceNet's expansions and projections): one loop over
 * the input channels. Through the general kernel its two one-step window loops cost more than
 * the multiply-adds; and one channel per loop step still left the loop's own counting and
 * branching at about a fifth of MobileFaceNet's time on SwiftShader's WebGPU, so the loop takes
 * four channels a step (in the same order: the same sums). Constants as CONV, and quads and rest:
 * cInG's whole groups of four and what is left (WebGL1 compares a loop index with constants only).
 * d as CONV.
 */
export const CONV_1X1 = `function (x, w, b, alpha, d) {${decode('cOut', 'd[2]', 'd[3]')}
  const g = Math.floor(oc / this.constants.cOutG);
  const plane = d[0] * d[1];
  let xc = (n * this.constants.cIn + g * this.constants.cInG) * plane + oy * this.constants.sH * d[1] + ox * this.constants.sW;
  const wc = oc * this.constants.cInG;
  let sum = 0;
  for (let q = 0; q < this.constants.quads; q += 1) {
    const c = q * 4;
    sum += x[xc] * w[wc + c];
    sum += x[xc + plane] * w[wc + c + 1];
    sum += x[xc + 2 * plane] * w[wc + c + 2];
    sum += x[xc + 3 * plane] * w[wc + c + 3];
    xc += 4 * plane;
  }
  for (let r = 0; r < this.constants.rest; r += 1) {
    sum += x[xc] * w[wc + this.constants.quads * 4 + r];
    xc += plane;
  }
  let y = sum + b[oc];
  if (this.constants.act === 1 && y < 0) { y = 0; }
  if (this.constants.act === 2 && y < 0) { y = y * alpha[oc]; }
  return y;
}`;

/** kind: 0 max, 1 average, 2 L2 (sqrt of the sum of squares); d = [inH, inW, outH, outW, pT, pL, pB, pR]. */
export const POOL = `function (x, d) {${decode('c', 'd[2]', 'd[3]')}
  const plane = (n * this.constants.c + oc) * d[0] * d[1];
  const wy0 = oy * this.constants.sH - d[4];
  const wx0 = ox * this.constants.sW - d[5];
  let m = -3.4e38;
  let s = 0;
  let cells = 0;
  for (let ky = 0; ky < this.constants.kH; ky += 1) {
    const iy = wy0 + ky;
    if (iy >= 0 && iy < d[0]) {
      for (let kx = 0; kx < this.constants.kW; kx += 1) {
        const ix = wx0 + kx;
        if (ix >= 0 && ix < d[1]) {
          const v = x[plane + iy * d[1] + ix];
          m = Math.max(m, v);
          s += this.constants.kind === 2 ? v * v : v;
          cells += 1;
        }
      }
    }
  }
  if (this.constants.kind === 0) { return m; }
  if (this.constants.kind === 2) { return Math.sqrt(s); }
  let count = cells;
  if (this.constants.includePad === 1) {
    count = (Math.min(wy0 + this.constants.kH, d[0] + d[6]) - wy0) * (Math.min(wx0 + this.constants.kW, d[1] + d[7]) - wx0);
  }
  return s / count;
}`;

export const LRN = `function (x, d) {${decode('c', 'd[0]', 'd[1]')}
  const plane = d[0] * d[1];
  const at = oy * d[1] + ox;
  let s = 0;
  for (let k = 0; k < this.constants.size; k += 1) {
    const ch = oc - this.constants.before + k;
    if (ch >= 0 && ch < this.constants.c) {
      const v = x[(n * this.constants.c + ch) * plane + at];
      s += v * v;
    }
  }
  return x[i] / Math.pow(this.constants.k + this.constants.scale * s, this.constants.beta);
}`;

/**
 * Softmax (kind 0) as torch computes it in float32 (see src/tensor/cpu/pointwise.ts), or L2
 * normalisation (kind 1), over the channels of each position.
 */
export const CHANNELWISE = `function (x, d) {${decode('c', 'd[0]', 'd[1]')}
  const plane = d[0] * d[1];
  const at = oy * d[1] + ox;
  if (this.constants.kind === 0) {
    let m = -3.4e38;
    for (let k = 0; k < this.constants.c; k += 1) { m = Math.max(m, x[(n * this.constants.c + k) * plane + at]); }
    let s = 0;
    for (let k = 0; k < this.constants.c; k += 1) {
      ${expfSource('ek', 'Math.fround(x[(n * this.constants.c + k) * plane + at] - m)')}
      s = Math.fround(s + ek);
    }
    ${expfSource('e', 'Math.fround(x[i] - m)')}
    if (this.constants.rows === 1) { return Math.fround(e * Math.fround(1 / s)); }
    return Math.fround(e / s);
  }
  let q = 0;
  for (let k = 0; k < this.constants.c; k += 1) { const v = x[(n * this.constants.c + k) * plane + at]; q += v * v; }
  return x[i] / Math.sqrt(Math.max(q, this.constants.eps));
}`;

/** Per-channel affine y = x * scale[c] + shift[c] (batch norm), or PReLU (kind 1), ReLU (kind 2). */
export const CHANNEL_MAP = `function (x, p, q, d) {
  const i = this.thread.x;
  const c = Math.floor(i / d[0]) % this.constants.c;
  const v = x[i];
  if (this.constants.kind === 0) { return v * p[c] + q[c]; }
  if (this.constants.kind === 1) { if (v < 0) { return v * p[c]; } return v; }
  if (v < 0) { return 0; }
  return v;
}`;

export const ADD = `function (a, b) {
  return a[this.thread.x] + b[this.thread.x];
}`;

export const DENSE = `function (x, w, b) {
  const i = this.thread.x;
  const o = i % this.constants.o;
  const n = Math.floor(i / this.constants.o);
  let s = 0;
  for (let f = 0; f < this.constants.f; f += 1) {
    s += x[n * this.constants.f + f] * w[o * this.constants.f + f];
  }
  return s + b[o];
}`;

/**
 * Up to four tensors joined along the channels in one pass (an inception block's branches):
 * channels [0, c0) from x0, the next c1 from x1, and so on. Unused inputs have 0 channels.
 */
export const CONCAT4 = `function (x0, x1, x2, x3, d) {${decode('c', 'd[0]', 'd[1]')}
  const plane = d[0] * d[1];
  const at = oy * d[1] + ox;
  const e1 = this.constants.c0 + this.constants.c1;
  const e2 = e1 + this.constants.c2;
  if (oc < this.constants.c0) { return x0[(n * this.constants.c0 + oc) * plane + at]; }
  if (oc < e1) { return x1[(n * this.constants.c1 + oc - this.constants.c0) * plane + at]; }
  if (oc < e2) { return x2[(n * this.constants.c2 + oc - e1) * plane + at]; }
  return x3[(n * this.constants.c3 + oc - e2) * plane + at];
}`;

/** d = [inH, inW, outH, outW, padTop, padLeft] */
export const PAD = `function (x, d) {${decode('c', 'd[2]', 'd[3]')}
  const iy = oy - d[4];
  const ix = ox - d[5];
  if (iy < 0 || iy >= d[0] || ix < 0 || ix >= d[1]) { return 0; }
  return x[((n * this.constants.c + oc) * d[0] + iy) * d[1] + ix];
}`;

/**
 * Area resampling of regions of an 8-bit RGB (HWC) image to planar normalised CHW, as the MTCNN
 * pipeline's pyramid and crops: output cell i spans floor(i*in/out) .. ceil((i+1)*in/out).
 * Regions are an argument ([x, y, width, height] per batch item), so one compiled kernel serves
 * every crop of a stage. d = [outH, outW, image width].
 */
export const AREA_RESIZE = `function (img, regions, d) {${decode('c', 'd[0]', 'd[1]')}
  const rx = regions[n * 4];
  const ry = regions[n * 4 + 1];
  const rw = regions[n * 4 + 2];
  const rh = regions[n * 4 + 3];
  const y0 = ry + Math.floor(oy * rh / d[0]);
  const y1 = ry + Math.ceil((oy + 1) * rh / d[0]);
  const x0 = rx + Math.floor(ox * rw / d[1]);
  const x1 = rx + Math.ceil((ox + 1) * rw / d[1]);
  let s = 0;
  for (let y = y0; y < y1; y += 1) {
    for (let xx = x0; xx < x1; xx += 1) {
      s += img[(y * d[2] + xx) * 3 + oc];
    }
  }
  const v = Math.fround(Math.fround(s / (y1 - y0)) / (x1 - x0));
  return Math.fround(Math.fround(v - 127.5) * 0.0078125);
}`;
