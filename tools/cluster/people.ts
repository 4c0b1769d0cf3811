// The photos of a scanned LFW folder as people: identity is the folder a photo sits in, and a
// photo is represented by one of the faces the scan found in it (the first, or the most central). People, not photos, are split
// into a calibration side and a held-out side, so no person's photos inform both.
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { seededRandom } from '../../src/collection/cluster.ts';
import type { EmbeddedFaceRef } from '../../src/collection/embeddedFaces.ts';
import { forEachLine, parseLine } from '../../src/collection/jsonl.ts';

export interface Photo {
  image: string;
  person: string;
  embedding: Float32Array;
}

/** Every photo file under images/<Name>/, counted per person (whether or not a face was found). */
export function photosPerPerson(imagesDir: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const person of readdirSync(imagesDir, { withFileTypes: true })) {
    if (!person.isDirectory()) continue;
    counts.set(person.name, readdirSync(join(imagesDir, person.name)).filter((f) => /\.jpe?g$/i.test(f)).length);
  }
  return counts;
}

export const FACE_PICKS = ['first', 'central'] as const;
export type FacePick = (typeof FACE_PICKS)[number];

/**
 * One face per photo, with the photo's folder as its person; photos in scan order. 'first' is the
 * scan's first face; 'central' the face whose box centre is nearest the image centre, where LFW
 * puts the named person (`sizes` gives each image's width and height).
 */
export function photoFaces(faces: readonly EmbeddedFaceRef[], pick: FacePick, sizes: ReadonlyMap<string, [number, number]>): Photo[] {
  const byImage = new Map<string, EmbeddedFaceRef[]>();
  for (const f of faces) {
    const list = byImage.get(f.image);
    if (list) list.push(f);
    else byImage.set(f.image, [f]);
  }
  const photos: Photo[] = [];
  for (const [image, list] of byImage) {
    let chosen = list.find((f) => f.face === 0);
    if (pick === 'central') {
      const [w, h] = sizes.get(image) ?? [NaN, NaN];
      if (!(w > 0 && h > 0)) throw new Error(`${image}: no image size in the scan`);
      const off = (f: EmbeddedFaceRef) => Math.hypot((f.box[0] + f.box[2]) / 2 - w / 2, (f.box[1] + f.box[3]) / 2 - h / 2);
      chosen = list.reduce((a, b) => (off(b) < off(a) ? b : a));
    }
    if (chosen) photos.push({ image, person: basename(dirname(image)), embedding: chosen.embedding });
  }
  return photos;
}

/** Each scanned image's width and height, from its line. */
export function imageSizes(scanFile: string): Map<string, [number, number]> {
  const sizes = new Map<string, [number, number]>();
  forEachLine(scanFile, (text) => {
    const line = parseLine(text);
    if (line?.width !== undefined && line.height !== undefined) sizes.set(line.image, [line.width, line.height]);
  });
  return sizes;
}

/**
 * People ranked by photo count (then name) and taken two at a time, a seeded coin deciding which
 * of each two goes to calibration: both sides get people of every size, with one big
 * identity each at the top (a plain shuffle could put LFW's two largest on one side).
 */
export function splitPeople(photos: ReadonlyMap<string, number>, seed: number): { calibration: Set<string>; heldOut: Set<string> } {
  const ranked = [...photos].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([name]) => name);
  const random = seededRandom(seed);
  const calibration = new Set<string>();
  const heldOut = new Set<string>();
  for (let i = 0; i < ranked.length; i += 2) {
    const [first, second] = random() < 0.5 ? [calibration, heldOut] : [heldOut, calibration];
    first.add(ranked[i]);
    if (i + 1 < ranked.length) second.add(ranked[i + 1]);
  }
  return { calibration, heldOut };
}

/** The photos of `people` whose person has at least `minPhotos` of them here, at most `cap` per person (first by file name). */
export function photosOf(photos: readonly Photo[], people: ReadonlySet<string>, o: { minPhotos?: number; cap?: number } = {}): Photo[] {
  const byPerson = new Map<string, Photo[]>();
  for (const p of photos) {
    if (!people.has(p.person)) continue;
    const list = byPerson.get(p.person);
    if (list) list.push(p);
    else byPerson.set(p.person, [p]);
  }
  const kept = new Set<Photo>();
  for (const list of byPerson.values()) {
    if (list.length < (o.minPhotos ?? 1)) continue;
    const sorted = [...list].sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0));
    for (const p of sorted.slice(0, o.cap ?? Infinity)) kept.add(p);
  }
  // Scan order, as `tsface cluster` would see the faces.
  return photos.filter((p) => kept.has(p));
}
