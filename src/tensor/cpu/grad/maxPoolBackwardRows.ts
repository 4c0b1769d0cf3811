// maxPool2dBackward (poolBackward.ts) with the window bounds worked out once per call (per output
// row and column, not per output and plane), each window scanned from its first cell (the
// reference's start from -infinity takes that cell first whatever it holds), and 3x3 windows
// inside the map (nn4.small2's pools) unrolled into selects, which V8 compiles without the
// branches a coin-toss comparison mispredicts. The same cells win: the same values.
import type { Window2d } from '../../geometry.ts';

/** Each output's input range along one axis: [start, end) per output index. */
function spans(out: number, stride: number, pad: number, k: number, size: number): Int32Array {
  const s = new Int32Array(2 * out);
  for (let o = 0; o < out; o++) {
    const w0 = o * stride - pad;
    s[2 * o] = Math.max(w0, 0);
    s[2 * o + 1] = Math.min(w0 + k, size);
  }
  return s;
}

export function maxPool2dBackwardRows(g: Window2d, x: Float32Array, dy: Float32Array, dx: Float32Array, from = 0, to = g.n * g.c): void {
  const { inH, inW, outH, outW } = g;
  const plane = inH * inW;
  const rows = spans(outH, g.strideH, g.padTop, g.kH, inH);
  const cols = spans(outW, g.strideW, g.padLeft, g.kW, inW);
  const step = inW - 2;
  for (let pl = from; pl < to; pl++) {
    const base = pl * plane;
    dx.fill(0, base, base + plane);
    let o = pl * outH * outW;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = rows[2 * oy];
      const y1 = rows[2 * oy + 1];
      for (let ox = 0; ox < outW; ox++, o++) {
        const x0 = cols[2 * ox];
        const x1 = cols[2 * ox + 1];
        let best = base + y0 * inW + x0;
        let m = x[best];
        if (y1 - y0 === 3 && x1 - x0 === 3) {
          // The reference's rule, a move on a greater value or a NaN, cell by cell in row-major order.
          let at = best + 1, v = x[at], moves = v > m || v !== v;
          m = moves ? v : m; best = moves ? at : best;
          at += 1; v = x[at]; moves = v > m || v !== v; m = moves ? v : m; best = moves ? at : best;
          at += step; v = x[at]; moves = v > m || v !== v; m = moves ? v : m; best = moves ? at : best;
          at += 1; v = x[at]; moves = v > m || v !== v; m = moves ? v : m; best = moves ? at : best;
          at += 1; v = x[at]; moves = v > m || v !== v; m = moves ? v : m; best = moves ? at : best;
          at += step; v = x[at]; moves = v > m || v !== v; m = moves ? v : m; best = moves ? at : best;
          at += 1; v = x[at]; moves = v > m || v !== v; m = moves ? v : m; best = moves ? at : best;
          at += 1; v = x[at]; moves = v > m || v !== v; best = moves ? at : best;
        } else {
          for (let y = y0; y < y1; y++) {
            const row = base + y * inW;
            for (let at = row + (y === y0 ? x0 + 1 : x0), end = row + x1; at < end; at++) {
              const v = x[at];
              if (v > m || v !== v) {
                m = v;
                best = at;
              }
            }
          }
        }
        dx[best] += dy[o];
      }
    }
  }
}
