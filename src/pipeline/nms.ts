// Non-maximum suppression, in the two forms MTCNN's reference uses, in float32 arithmetic.
import { numpyArgsort } from './argsort.ts';

const f = Math.fround;

export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
}

/**
 * Indices sorted by descending score; among equal scores the lower index comes first, as
 * torchvision's nms orders them (a stable descending sort), so of two identically scored boxes
 * the earlier one survives.
 */
export function descendingByScore(boxes: readonly Box[]): number[] {
  const idx = boxes.map((_, i) => i);
  idx.sort((a, b) => boxes[b].score - boxes[a].score || a - b);
  return idx;
}

/**
 * IoU NMS with areas (x2 - x1) * (y2 - y1), no +1 (torchvision.ops.nms): a box is dropped when
 * its overlap with a kept, higher-scored box is greater than `threshold`. Returns kept indices,
 * highest score first.
 */
export function nmsUnion(boxes: readonly Box[], threshold: number): number[] {
  const order = descendingByScore(boxes);
  const n = order.length;
  // Coordinates and areas in score order, side by side: the inner loop runs over all later boxes.
  const x1 = new Float64Array(n), y1 = new Float64Array(n), x2 = new Float64Array(n), y2 = new Float64Array(n), area = new Float64Array(n);
  for (let a = 0; a < n; a++) {
    const b = boxes[order[a]];
    x1[a] = b.x1;
    y1[a] = b.y1;
    x2[a] = b.x2;
    y2[a] = b.y2;
    area[a] = f(f(b.x2 - b.x1) * f(b.y2 - b.y1));
  }
  const suppressed = new Uint8Array(n);
  const keep: number[] = [];
  const sides = { x1, y1, x2, y2, area };
  for (let a = 0; a < n; a++) {
    if (suppressed[a]) continue;
    keep.push(order[a]);
    suppressOverlaps(sides, a, threshold, suppressed);
  }
  return keep;
}

/** Boxes in score order, their sides and areas side by side. */
interface Sides {
  x1: Float64Array;
  y1: Float64Array;
  x2: Float64Array;
  y2: Float64Array;
  area: Float64Array;
}

/**
 * Marks every later box whose IoU with kept box a is above the threshold. Its own function, not
 * an inner loop of nmsUnion: Chromium's V8 compiles a hot inner loop on its own (on-stack
 * replacement) and threw that code away at every exit to the outer loop, about 1,140 times over
 * the cold-start rows' detections (`TSFACE_CHROMIUM_FLAGS='--js-flags=--trace-deopt' npm run
 * bench:browser -- --only cold --modes cpu --no-anchors --pages isolated`); now none.
 */
function suppressOverlaps(b: Sides, a: number, threshold: number, suppressed: Uint8Array): void {
  const { x1, y1, x2, y2, area } = b;
  const n = suppressed.length;
  for (let c = a + 1; c < n; c++) {
    if (suppressed[c]) continue;
    // Boxes that do not overlap have IoU 0 (or 0/0 for empty ones), never above the threshold.
    const dw = Math.min(x2[a], x2[c]) - Math.max(x1[a], x1[c]);
    if (!(dw > 0)) continue;
    const dh = Math.min(y2[a], y2[c]) - Math.max(y1[a], y1[c]);
    if (!(dh > 0)) continue;
    const inter = f(f(dw) * f(dh));
    const iou = f(inter / f(f(area[a] + area[c]) - inter));
    if (iou > threshold) suppressed[c] = 1;
  }
}

/**
 * The 'Min' NMS of MTCNN's last stage (the original Matlab/NumPy form): areas and
 * intersections with +1, overlap = intersection / smaller area, and a box survives when its
 * overlap is <= threshold (compared in float32). Candidates are taken from the end of NumPy's
 * ascending argsort, so among equal scores the highest index wins for up to 16 candidates, and
 * beyond that whichever NumPy's unstable introsort leaves last.
 */
export function nmsMin(boxes: readonly Box[], threshold: number): number[] {
  const t = f(threshold);
  const area = boxes.map((b) => f(f(f(b.x2 - b.x1) + 1) * f(f(b.y2 - b.y1) + 1)));
  let rest = numpyArgsort(boxes.map((b) => b.score));
  const keep: number[] = [];
  while (rest.length > 0) {
    const i = rest[rest.length - 1];
    keep.push(i);
    const bi = boxes[i];
    const next: number[] = [];
    for (let c = 0; c < rest.length - 1; c++) {
      const j = rest[c];
      const bj = boxes[j];
      const w = Math.max(0, f(f(Math.min(bi.x2, bj.x2) - Math.max(bi.x1, bj.x1)) + 1));
      const h = Math.max(0, f(f(Math.min(bi.y2, bj.y2) - Math.max(bi.y1, bj.y1)) + 1));
      const inter = f(w * h);
      const o = f(inter / Math.min(area[i], area[j]));
      if (o <= t) next.push(j);
    }
    rest = next;
  }
  return keep;
}
