// Backward of the ops along dimension 1 (softmax, L2 normalisation), the per-channel sum that
// gives bias gradients, and the copies that undo concat and pad2d. Tensors are [n, c, plane].

/** sum over every dimension but 1 of [n, c, plane], in float64. */
export function sumChannels(dy: Float32Array, n: number, c: number, plane: number, out: Float32Array): void {
  const sums = new Float64Array(c);
  let i = 0;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      for (let j = 0; j < plane; j++, i++) s += dy[i];
      sums[ch] += s;
    }
  }
  for (let ch = 0; ch < c; ch++) out[ch] = sums[ch];
}

/** Softmax over channels from its output: dx = y * (dy - sum_c dy * y) at each (item, position). */
export function softmaxBackward(y: Float32Array, dy: Float32Array, n: number, c: number, plane: number, dx: Float32Array): void {
  for (let b = 0; b < n; b++) {
    const base = b * c * plane;
    for (let j = 0; j < plane; j++) {
      let s = 0;
      for (let k = 0; k < c; k++) s += dy[base + k * plane + j] * y[base + k * plane + j];
      for (let k = 0; k < c; k++) {
        const at = base + k * plane + j;
        dx[at] = y[at] * (dy[at] - s);
      }
    }
  }
}

/**
 * L2 normalisation over channels: with s = sum x^2 and r = 1/sqrt(max(s, eps)),
 * dx = r * (dy - y * sum(dy * y)) where s > eps (the norm moves with x), else r * dy (the clamp holds it).
 */
export function l2NormalizeBackward(
  x: Float32Array, y: Float32Array, dy: Float32Array, n: number, c: number, plane: number, eps: number, dx: Float32Array,
): void {
  for (let b = 0; b < n; b++) {
    const base = b * c * plane;
    for (let j = 0; j < plane; j++) {
      let s = 0;
      let dot = 0;
      for (let k = 0; k < c; k++) {
        const at = base + k * plane + j;
        s += x[at] * x[at];
        dot += dy[at] * y[at];
      }
      const r = 1 / Math.sqrt(Math.max(s, eps));
      if (!(s > eps)) dot = 0;
      for (let k = 0; k < c; k++) {
        const at = base + k * plane + j;
        dx[at] = r * (dy[at] - y[at] * dot);
      }
    }
  }
}

/** Channels [from, from + count) of [n, c, plane]. */
export function sliceChannels(x: Float32Array, n: number, c: number, plane: number, from: number, count: number, out: Float32Array): void {
  for (let b = 0; b < n; b++) out.set(x.subarray((b * c + from) * plane, (b * c + from + count) * plane), b * count * plane);
}

/** The interior of padded planes: each [h + top + bottom, w + left + right] plane cropped to [h, w]. */
export function crop2d(dy: Float32Array, planes: number, h: number, w: number, top: number, bottom: number, left: number, right: number, out: Float32Array): void {
  const ph = h + top + bottom;
  const pw = w + left + right;
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < h; y++) {
      const src = (p * ph + y + top) * pw + left;
      out.set(dy.subarray(src, src + w), (p * h + y) * w);
    }
  }
}
