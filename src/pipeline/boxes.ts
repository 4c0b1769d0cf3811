// Box arithmetic of MTCNN's cascade, step by step in float32 (Math.fround after every
// operation), because the reference computes in float32 tensors and the truncations that
// follow (crops, pyramid cells) turn 1-ulp differences into 1-pixel ones.
import type { Box } from './nms.ts';

const f = Math.fround;

export interface Candidate extends Box {
  /** Box regression offsets of the stage that produced this candidate. */
  reg: [number, number, number, number];
  /** Which image of a batch it belongs to. */
  image: number;
  landmarks?: [number, number][];
}

/**
 * Applies regression offsets. `plusOne` selects the width convention: stage 1 uses x2 - x1,
 * the later stages x2 - x1 + 1.
 */
export function regress(b: Candidate, reg: readonly number[], plusOne: boolean): void {
  const w = plusOne ? f(f(b.x2 - b.x1) + 1) : f(b.x2 - b.x1);
  const h = plusOne ? f(f(b.y2 - b.y1) + 1) : f(b.y2 - b.y1);
  const x1 = f(b.x1 + f(reg[0] * w));
  const y1 = f(b.y1 + f(reg[1] * h));
  const x2 = f(b.x2 + f(reg[2] * w));
  const y2 = f(b.y2 + f(reg[3] * h));
  b.x1 = x1; b.y1 = y1; b.x2 = x2; b.y2 = y2;
}

/** Makes the box square around its centre with side max(w, h) (no +1). */
export function square(b: Box): void {
  const h = f(b.y2 - b.y1);
  const w = f(b.x2 - b.x1);
  const l = Math.max(w, h);
  b.x1 = f(f(b.x1 + f(w * 0.5)) - f(l * 0.5));
  b.y1 = f(f(b.y1 + f(h * 0.5)) - f(l * 0.5));
  b.x2 = f(b.x1 + l);
  b.y2 = f(b.y1 + l);
}

/**
 * The part of the box inside the image, as the reference crops it: coordinates truncated
 * toward zero, x1/y1 clamped to >= 1 and x2/y2 to <= width/height, then rows y1-1 .. y2-1
 * and columns x1-1 .. x2-1. Null when nothing of the box is inside.
 */
export function cropRegion(b: Box, width: number, height: number): { x: number; y: number; width: number; height: number } | null {
  const x = Math.max(1, Math.trunc(b.x1));
  const y = Math.max(1, Math.trunc(b.y1));
  const ex = Math.min(width, Math.trunc(b.x2));
  const ey = Math.min(height, Math.trunc(b.y2));
  if (!(ey > y - 1 && ex > x - 1)) return null;
  return { x: x - 1, y: y - 1, width: ex - (x - 1), height: ey - (y - 1) };
}

export function boxArea(b: Box): number {
  return f(f(b.x2 - b.x1) * f(b.y2 - b.y1));
}
