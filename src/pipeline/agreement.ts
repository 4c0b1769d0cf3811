// How closely one detector's faces match another's: the measure the reference comparison
// (tests, benchmark, `tsface crosscheck`) uses.
import { boxIoU as iou } from './faceTracks.ts';
import type { Face } from './mtcnn.ts';

export { iou };

/** Largest landmark distance divided by the reference box's size (its larger side). */
export function landmarkError(face: Face, ref: Face): number {
  const size = Math.max(ref.box[2] - ref.box[0], ref.box[3] - ref.box[1]);
  let worst = 0;
  for (let k = 0; k < ref.landmarks.length; k++) {
    const [x, y] = face.landmarks[k] ?? [NaN, NaN];
    worst = Math.max(worst, Math.hypot(x - ref.landmarks[k][0], y - ref.landmarks[k][1]) / size);
  }
  return Number.isNaN(worst) ? Infinity : worst;
}

export interface FaceMatch {
  ref: Face;
  face: Face | null;
  iou: number;
  landmarkError: number;
  scoreError: number;
}

/** Pairs every reference face with the detected face of highest IoU. */
export function matchFaces(faces: readonly Face[], refs: readonly Face[]): FaceMatch[] {
  return refs.map((ref) => {
    let best: Face | null = null;
    let bestIou = 0;
    for (const f of faces) {
      const o = iou(f.box, ref.box);
      if (o > bestIou) { bestIou = o; best = f; }
    }
    return {
      ref,
      face: best,
      iou: bestIou,
      landmarkError: best ? landmarkError(best, ref) : Infinity,
      scoreError: best ? Math.abs(best.score - ref.score) : Infinity,
    };
  });
}
