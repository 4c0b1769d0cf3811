// gpu.js kernel sources of the backward ops (BackwardOps), one per op, written as kernels.ts's
// are: shapes of loops are constants, spatial sizes come in the last argument `d`, outputs are
// flat. gpu.js has no atomics, so every kernel is a gather: a thread computes one element of
// the gradient by visiting every output that read its input, never scattering into shared cells.
// Loops step with `+= 1` (see kernels.ts) and compare with `<` against an exclusive bound.
// Sizes are read from `d` into named constants first: gpu.js's GL translator moves a texture read
// used inside an index into a temporary named per statement, and two such statements in one
// block then declare the same name (a shader that does not compile).

/** Splits the flat index into (n, ch, row, col) of an NCHW result: C a constant, H and W expressions. */
const cell = (C: string, H: string, W: string) => `
  const i = this.thread.x;
  const col = i % ${W};
  const r1 = Math.floor(i / ${W});
  const row = r1 % ${H};
  const r2 = Math.floor(r1 / ${H});
  const ch = r2 % this.constants.${C};
  const n = Math.floor(r2 / this.constants.${C});`;

/** The sizes of a strided window op (conv, pool), from d = [inH, inW, outH, outW, padTop, padLeft, ...]. */
const windowSizes = `
  const inH = d[0];
  const inW = d[1];
  const outH = d[2];
  const outW = d[3];
  const padTop = d[4];
  const padLeft = d[5];`;

/**
 * The outputs whose windows hold input cell (row, col): rows [oyLo, oyHi) and columns [oxLo,
 * oxHi). Window oy covers padded rows [oy * sH, oy * sH + kH). Follows windowSizes.
 */
const windowsHolding = `
  const py = row + padTop;
  const px = col + padLeft;
  const oyLo = Math.max(0, Math.floor((py - this.constants.kH + this.constants.sH) / this.constants.sH));
  const oyHi = Math.min(outH, Math.floor(py / this.constants.sH) + 1);
  const oxLo = Math.max(0, Math.floor((px - this.constants.kW + this.constants.sW) / this.constants.sW));
  const oxHi = Math.min(outW, Math.floor(px / this.constants.sW) + 1);`;

/**
 * dL/dx of conv2d: input cell (n, ch, row, col) gathers dy * w over every output of its group
 * whose window holds it, the tap (ky, kx) being where it sits in that window. d as the forward
 * CONV: [inH, inW, outH, outW, padTop, padLeft].
 */
export const CONV_BACKWARD_INPUT = `function (dy, w, d) {${windowSizes}${cell('cIn', 'inH', 'inW')}
  const g = Math.floor(ch / this.constants.cInG);
  const cg = ch - g * this.constants.cInG;
  ${windowsHolding}
  const taps = this.constants.kH * this.constants.kW;
  let s = 0;
  for (let co = g * this.constants.cOutG; co < (g + 1) * this.constants.cOutG; co += 1) {
    const yc = (n * this.constants.cOut + co) * outH * outW;
    const wc = (co * this.constants.cInG + cg) * taps;
    for (let oy = oyLo; oy < oyHi; oy += 1) {
      const wr = wc + (py - oy * this.constants.sH) * this.constants.kW + px;
      for (let ox = oxLo; ox < oxHi; ox += 1) {
        s += dy[yc + oy * outW + ox] * w[wr - ox * this.constants.sW];
      }
    }
  }
  return s;
}`;

/**
 * dL/dweight of conv2d: tap (co, cg, ky, kx) sums dy * x over the batch and every output whose
 * window puts that tap on the image (the output range is clipped once, before the loops). Partial
 * sums by row and by item, as overChannel's. d = [n, inH, inW, outH, outW, padTop, padLeft].
 */
export const CONV_BACKWARD_WEIGHT = `function (x, dy, d) {
  const i = this.thread.x;
  const kx = i % this.constants.kW;
  const r1 = Math.floor(i / this.constants.kW);
  const ky = r1 % this.constants.kH;
  const r2 = Math.floor(r1 / this.constants.kH);
  const cg = r2 % this.constants.cInG;
  const co = Math.floor(r2 / this.constants.cInG);
  const ci = Math.floor(co / this.constants.cOutG) * this.constants.cInG + cg;
  const batch = d[0];
  const inH = d[1];
  const inW = d[2];
  const outH = d[3];
  const outW = d[4];
  const ry = ky - d[5];
  const rx = kx - d[6];
  const oyLo = Math.max(0, Math.floor((this.constants.sH - 1 - ry) / this.constants.sH));
  const oyHi = Math.min(outH, Math.floor((inH - 1 - ry) / this.constants.sH) + 1);
  const oxLo = Math.max(0, Math.floor((this.constants.sW - 1 - rx) / this.constants.sW));
  const oxHi = Math.min(outW, Math.floor((inW - 1 - rx) / this.constants.sW) + 1);
  let s = 0;
  for (let b = 0; b < batch; b += 1) {
    const xc = (b * this.constants.cIn + ci) * inH * inW;
    const yc = (b * this.constants.cOut + co) * outH * outW;
    let itemSum = 0;
    for (let oy = oyLo; oy < oyHi; oy += 1) {
      const xr = xc + (oy * this.constants.sH + ry) * inW + rx;
      const yr = yc + oy * outW;
      let rowSum = 0;
      for (let ox = oxLo; ox < oxHi; ox += 1) {
        rowSum += dy[yr + ox] * x[xr + ox * this.constants.sW];
      }
      itemSum += rowSum;
    }
    s += itemSum;
  }
  return s;
}`;

/**
 * A per-channel reduction: thread c sums `term` over the batch items and positions of channel c
 * (a's and b's element at `at`; p and q hold per-channel parameters), then returns `finish` of
 * the sum s (`count` terms). Sums are taken by row, then by item, then over the batch: a float32 running sum of
 * a whole channel (64 items of 48x48 is 147k terms) drifts by 1e-5 of the total and more, partial
 * sums keep each addition among numbers of like size. d = [n, rows, columns].
 */
const overChannel = (term: string, finish = 's') => `function (a, b, p, q, d) {
  const c = this.thread.x;
  const batch = d[0];
  const rows = d[1];
  const cols = d[2];
  const count = batch * rows * cols;
  let s = 0;
  for (let item = 0; item < batch; item += 1) {
    let itemSum = 0;
    for (let r = 0; r < rows; r += 1) {
      const base = ((item * this.constants.c + c) * rows + r) * cols;
      let rowSum = 0;
      for (let k = 0; k < cols; k += 1) {
        const at = base + k;
        rowSum += ${term};
      }
      itemSum += rowSum;
    }
    s += itemSum;
  }
  return ${finish};
}`;

/** The gradient of a per-channel bias (and of batch norm's beta): the sum of dy (a) over each channel. */
export const SUM_CHANNELS = overChannel('a[at]');

/** PReLU's dAlpha: the sum of x * dy (a, b) where x <= 0. */
export const PRELU_ALPHA_GRAD = overChannel('a[at] <= 0 ? a[at] * b[at] : 0');

/** Batch statistics: the mean of x (a), then the biased variance about that mean (p). */
export const CHANNEL_MEAN = overChannel('a[at]', 's / count');
export const CHANNEL_VARIANCE = overChannel('(a[at] - p[c]) * (a[at] - p[c])', 's / count');

/**
 * Batch norm's dGamma: the sum of dy * x-hat, the sum of dy * (x - mean) (b, a) times 1 / sqrt(
 * variance + eps). p holds the mean, then a shift subtracted from dy. In training mode the shift
 * is dy's own mean: x - mean then sums to zero, so the result is unchanged, but an offset common
 * to a channel's dy no longer adds terms that cancel (float32 lost 3e-5 of the result for an
 * offset of 1 over 64 items of 48x48). q holds the variance.
 */
export const BATCH_NORM_GAMMA_GRAD = overChannel('(a[at] - p[c]) * (b[at] - p[this.constants.c + c])', 's / Math.sqrt(q[c] + this.constants.eps)');

/** torch's threshold_backward: dy where the relu's output is positive. */
export const RELU_BACKWARD = `function (y, dy) {
  if (y[this.thread.x] > 0) { return dy[this.thread.x]; }
  return 0;
}`;

/** PReLU's dx: dy where x > 0, alpha[c] * dy elsewhere. d = [plane]. */
export const PRELU_BACKWARD_INPUT = `function (x, alpha, dy, d) {
  const i = this.thread.x;
  const plane = d[0];
  const c = Math.floor(i / plane) % this.constants.c;
  if (x[i] > 0) { return dy[i]; }
  return alpha[c] * dy[i];
}`;

/**
 * Max pooling: input cell (row, col) takes the dy of each window whose maximum it is. Each
 * window's maximum is found again as the forward (torch) finds it: its cells on the image in
 * row-major order, the first one taken, replaced only by a strictly greater value, so a tie goes
 * to the earliest cell and a padded cell never wins. d = [inH, inW, outH, outW, padTop, padLeft].
 */
export const MAX_POOL_BACKWARD = `function (x, dy, d) {${windowSizes}${cell('c', 'inH', 'inW')}
  const xc = (n * this.constants.c + ch) * inH * inW;
  const yc = (n * this.constants.c + ch) * outH * outW;
  const own = row * inW + col;
  ${windowsHolding}
  let s = 0;
  for (let oy = oyLo; oy < oyHi; oy += 1) {
    const wy0 = oy * this.constants.sH - padTop;
    const kyLo = Math.max(0, 0 - wy0);
    const kyHi = Math.min(this.constants.kH, inH - wy0);
    for (let ox = oxLo; ox < oxHi; ox += 1) {
      const wx0 = ox * this.constants.sW - padLeft;
      const kxLo = Math.max(0, 0 - wx0);
      const kxHi = Math.min(this.constants.kW, inW - wx0);
      let best = 0;
      let winner = -1;
      for (let ky = kyLo; ky < kyHi; ky += 1) {
        for (let kx = kxLo; kx < kxHi; kx += 1) {
          const at = (wy0 + ky) * inW + wx0 + kx;
          const v = x[xc + at];
          if (winner < 0 || v > best) {
            best = v;
            winner = at;
          }
        }
      }
      if (winner === own) { s += dy[yc + oy * outW + ox]; }
    }
  }
  return s;
}`;

/**
 * Average pooling: input cell (row, col) takes dy / divisor of each window holding it, the divisor
 * as the forward POOL counts it (cells on the image, or with includePad the window clipped to
 * the padded image). d = [inH, inW, outH, outW, padTop, padLeft, padBottom, padRight].
 */
export const AVG_POOL_BACKWARD = `function (dy, d) {${windowSizes}${cell('c', 'inH', 'inW')}
  const padBottom = d[6];
  const padRight = d[7];
  const yc = (n * this.constants.c + ch) * outH * outW;
  ${windowsHolding}
  let s = 0;
  for (let oy = oyLo; oy < oyHi; oy += 1) {
    const wy0 = oy * this.constants.sH - padTop;
    let rows = Math.min(wy0 + this.constants.kH, inH) - Math.max(wy0, 0);
    if (this.constants.includePad === 1) { rows = Math.min(wy0 + this.constants.kH, inH + padBottom) - wy0; }
    for (let ox = oxLo; ox < oxHi; ox += 1) {
      const wx0 = ox * this.constants.sW - padLeft;
      let cols = Math.min(wx0 + this.constants.kW, inW) - Math.max(wx0, 0);
      if (this.constants.includePad === 1) { cols = Math.min(wx0 + this.constants.kW, inW + padRight) - wx0; }
      s += dy[yc + oy * outW + ox] / (rows * cols);
    }
  }
  return s;
}`;

/**
 * L2 pooling y = sqrt(sum x^2): input cell (row, col) gathers dy * x / y over the windows holding
 * it; a window whose y is 0 passes nothing (the contract's choice where torch's sqrt gives NaN).
 * d as MAX_POOL_BACKWARD.
 */
export const L2_POOL_BACKWARD = `function (x, y, dy, d) {${windowSizes}${cell('c', 'inH', 'inW')}
  const yc = (n * this.constants.c + ch) * outH * outW;
  ${windowsHolding}
  let s = 0;
  for (let oy = oyLo; oy < oyHi; oy += 1) {
    for (let ox = oxLo; ox < oxHi; ox += 1) {
      const o = yc + oy * outW + ox;
      if (y[o] > 0) { s += dy[o] / y[o]; }
    }
  }
  return s * x[i];
}`;

/**
 * Cross-channel LRN, y = x / D^beta with D(c) = k + scale * (sum of x^2 over c's window). Channel
 * ch is in the windows of channels [ch - (size - 1 - before), ch + before]; with dy * y / D of
 * each, dx = dy / D(ch)^beta - 2 * scale * beta * x * sum(dy * y / D). Each D is summed again
 * from x rather than recovered from x / y, which loses everything where x is near 0.
 * d = [h, w].
 */
export const LRN_BACKWARD = `function (x, y, dy, d) {
  const h = d[0];
  const w = d[1];${cell('c', 'h', 'w')}
  const plane = h * w;
  const at = row * w + col;
  const first = n * this.constants.c * plane + at;
  let own = 0;
  let cross = 0;
  for (let j = ch - (this.constants.size - 1 - this.constants.before); j < ch + this.constants.before + 1; j += 1) {
    if (j >= 0 && j < this.constants.c) {
      let q = 0;
      for (let m = j - this.constants.before; m < j - this.constants.before + this.constants.size; m += 1) {
        if (m >= 0 && m < this.constants.c) {
          const v = x[first + m * plane];
          q += v * v;
        }
      }
      const big = this.constants.k + this.constants.scale * q;
      if (j === ch) { own = big; }
      cross += dy[first + j * plane] * y[first + j * plane] / big;
    }
  }
  return dy[i] / Math.pow(own, this.constants.beta) - 2 * this.constants.scale * this.constants.beta * x[i] * cross;
}`;

/**
 * Batch norm's dx with invstd = 1 / sqrt(variance + eps). Eval mode (training 0): mean and variance
 * are constants, dx = dy * gamma * invstd. Training: they are the batch's, which adds their
 * derivatives, as torch forms them: dx = (dy - dBeta / count - (x - mean) * invstd * dGamma / count)
 * * invstd * gamma. The five per-channel vectors come in one array, mean, variance, gamma, dBeta,
 * dGamma, C values each: WebGPU allows a kernel 8 storage buffers, output included.
 * d = [plane, count].
 */
export const BATCH_NORM_BACKWARD_INPUT = `function (x, dy, perChannel, d) {
  const i = this.thread.x;
  const plane = d[0];
  const count = d[1];
  const c = Math.floor(i / plane) % this.constants.c;
  const mean = perChannel[c];
  const variance = perChannel[this.constants.c + c];
  const gamma = perChannel[2 * this.constants.c + c];
  const dBeta = perChannel[3 * this.constants.c + c];
  const dGamma = perChannel[4 * this.constants.c + c];
  const invstd = 1 / Math.sqrt(variance + this.constants.eps);
  if (this.constants.training === 0) { return dy[i] * gamma * invstd; }
  const centred = dy[i] - dBeta / count - (x[i] - mean) * invstd * dGamma / count;
  return centred * invstd * gamma;
}`;

/** Fully connected dx = dy . W: [N, F] from dy [N, O] and W [O, F]. */
export const DENSE_BACKWARD_INPUT = `function (dy, w) {
  const i = this.thread.x;
  const f = i % this.constants.f;
  const n = Math.floor(i / this.constants.f);
  let s = 0;
  for (let o = 0; o < this.constants.o; o += 1) {
    s += dy[n * this.constants.o + o] * w[o * this.constants.f + f];
  }
  return s;
}`;

/** Fully connected dW = dy^T . x: [O, F], summed over the batch. d = [n]. */
export const DENSE_BACKWARD_WEIGHT = `function (x, dy, d) {
  const i = this.thread.x;
  const f = i % this.constants.f;
  const o = Math.floor(i / this.constants.f);
  const batch = d[0];
  let s = 0;
  for (let b = 0; b < batch; b += 1) {
    s += dy[b * this.constants.o + o] * x[b * this.constants.f + f];
  }
  return s;
}`;

/** Softmax over the channels, from its output: dx = y * (dy - sum over the position's channels of dy * y). d = [plane]. */
export const SOFTMAX_BACKWARD = `function (y, dy, d) {
  const i = this.thread.x;
  const plane = d[0];
  const at = i % plane;
  const first = Math.floor(i / (plane * this.constants.c)) * this.constants.c * plane + at;
  let dot = 0;
  for (let k = 0; k < this.constants.c; k += 1) { dot += dy[first + k * plane] * y[first + k * plane]; }
  return y[i] * (dy[i] - dot);
}`;

/**
 * L2 normalisation over the channels: with s = sum x^2 and r = 1 / sqrt(max(s, eps)), dx = r * (dy
 * - y * sum(dy * y)) where s > eps; below, the clamped divisor is a constant and dx = r * dy.
 * d = [plane].
 */
export const L2_NORMALIZE_BACKWARD = `function (x, y, dy, d) {
  const i = this.thread.x;
  const plane = d[0];
  const at = i % plane;
  const first = Math.floor(i / (plane * this.constants.c)) * this.constants.c * plane + at;
  let q = 0;
  let dot = 0;
  for (let k = 0; k < this.constants.c; k += 1) {
    const v = x[first + k * plane];
    q += v * v;
    dot += dy[first + k * plane] * y[first + k * plane];
  }
  const r = 1 / Math.sqrt(Math.max(q, this.constants.eps));
  if (q > this.constants.eps) { return r * (dy[i] - y[i] * dot); }
  return r * dy[i];
}`;

/** Channels [from, from + count) of x, every batch item. d = [plane, count, channels of x, from]. */
export const SLICE_CHANNELS = `function (x, d) {
  const i = this.thread.x;
  const plane = d[0];
  const count = d[1];
  const channels = d[2];
  const start = d[3];
  const at = i % plane;
  const r = Math.floor(i / plane);
  const k = r % count;
  const n = Math.floor(r / count);
  return x[(n * channels + start + k) * plane + at];
}`;

/** The interior of dy, the inverse of PAD. d = [inH, inW, outH, outW, top, left] (in: dy, out: the crop). */
export const CROP = `function (dy, d) {
  const inH = d[0];
  const inW = d[1];
  const top = d[4];
  const left = d[5];${cell('c', 'd[2]', 'd[3]')}
  return dy[((n * this.constants.c + ch) * inH + row + top) * inW + col + left];
}`;
