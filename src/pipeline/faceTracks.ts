// Track ids for faces found frame after frame: a face keeps the id of the track whose last box
// it overlaps most, a face that overlaps none starts a new track, and a track that no face
// continues ends (after `keepLost` frames without one). Matching is greedy by IoU, highest
// first: faces in a video move little between frames, so the best overlap is the same face,
// and a greedy pass never gives one face two ids or one id two faces.

export type FaceBox = readonly [number, number, number, number];

/** Intersection over union of two [x1, y1, x2, y2] boxes (0 for boxes that do not overlap or are empty). */
export function boxIoU(a: FaceBox, b: FaceBox): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (!(w > 0 && h > 0)) return 0;
  const inter = w * h;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Pairs (from, to) of `from` and `to` boxes, each used at most once, taken by descending IoU
 * among the pairs whose IoU is at least `minIoU`; ties keep the earlier box of `from`, then of `to`.
 */
export function matchBoxes(from: readonly FaceBox[], to: readonly FaceBox[], minIoU: number): [number, number][] {
  const pairs: { i: number; j: number; iou: number }[] = [];
  for (let i = 0; i < from.length; i++) {
    for (let j = 0; j < to.length; j++) {
      const iou = boxIoU(from[i], to[j]);
      if (iou >= minIoU && iou > 0) pairs.push({ i, j, iou });
    }
  }
  pairs.sort((p, q) => q.iou - p.iou || p.i - q.i || p.j - q.j);
  const usedFrom = new Set<number>();
  const usedTo = new Set<number>();
  const out: [number, number][] = [];
  for (const { i, j } of pairs) {
    if (usedFrom.has(i) || usedTo.has(j)) continue;
    usedFrom.add(i);
    usedTo.add(j);
    out.push([i, j]);
  }
  return out;
}

export interface Track {
  id: number;
  /** The box it was last seen at. */
  box: FaceBox;
  /** Frames in a row it has not been seen in (0 while in view). */
  missed: number;
  /** Index of the frame it started in. */
  startedAt: number;
  embedding?: Float32Array;
  /** Index of the frame whose face gave `embedding` (or whose attempt failed), -1 before any. */
  embeddedAt: number;
}

export interface TrackUpdate {
  /** Track id of each face, in the faces' order. */
  ids: number[];
  /** Ids of the tracks this update started. */
  started: number[];
  /** Ids of the tracks this update ended. */
  ended: number[];
}

/** The live tracks of one video: ids start at 1 and are never reused. */
export class FaceTracks {
  private nextId = 1;
  private live: Track[] = [];

  /**
   * @param minIoU a face continues a track when its box overlaps the track's last box at least this much.
   * @param keepLost frames a track may go unseen before it ends (0: it ends at the first frame without its face).
   */
  constructor(readonly minIoU: number, readonly keepLost: number) {}

  /** The tracks still alive, seen in the last frame or not. */
  get tracks(): readonly Track[] {
    return this.live;
  }

  /** The tracks whose face was in the last frame. */
  get visible(): readonly Track[] {
    return this.live.filter((t) => t.missed === 0);
  }

  /** How many of the visible tracks `faces` would continue (as update() would match them, without changing anything). */
  continued(faces: readonly { box: FaceBox }[]): number {
    return matchBoxes(this.live.map((t) => t.box), faces.map((f) => f.box), this.minIoU).filter(([i]) => this.live[i].missed === 0).length;
  }

  /** Gives each face of frame `index` its track id, starting and ending tracks as needed. */
  update(faces: readonly { box: FaceBox }[], index: number): TrackUpdate {
    const pairs = matchBoxes(this.live.map((t) => t.box), faces.map((f) => f.box), this.minIoU);
    const ids = new Array<number>(faces.length).fill(0);
    const seen = new Set<Track>();
    for (const [i, j] of pairs) {
      const track = this.live[i];
      track.box = faces[j].box;
      track.missed = 0;
      ids[j] = track.id;
      seen.add(track);
    }
    const ended: number[] = [];
    this.live = this.live.filter((t) => {
      if (seen.has(t)) return true;
      t.missed++;
      if (t.missed <= this.keepLost) return true;
      ended.push(t.id);
      return false;
    });
    const started: number[] = [];
    faces.forEach((face, j) => {
      if (ids[j]) return;
      const track: Track = { id: this.nextId++, box: face.box, missed: 0, startedAt: index, embeddedAt: -1 };
      this.live.push(track);
      ids[j] = track.id;
      started.push(track.id);
    });
    return { ids, started, ended };
  }

  byId(id: number): Track | undefined {
    return this.live.find((t) => t.id === id);
  }
}
