// From a folder of identity folders to what training draws from: every person with at least two
// usable face crops. Photos that cannot be used are counted, never fatal; a folder left with
// fewer than two such people is a TrainingDataError that says what was found.
import type { RgbImage } from '../image/decode.ts';
import { TrainingDataError } from './errors.ts';
import type { FaceCache } from './faceCache.ts';
import { listIdentityFolders } from './identityFolders.ts';
import type { Random } from './random.ts';

export interface Identity {
  name: string;
  crops: RgbImage[];
  /** The photo each crop came from, in the same order. */
  paths: string[];
}

export interface DataReport {
  /** Identity folders with at least one image file. */
  folders: number;
  photos: number;
  /** Photos that could not be read or decoded (named in `problems`). */
  unreadable: number;
  noFace: number;
  /** Identities dropped for having fewer than two usable photos. */
  tooFewPhotos: number;
  /** Files directly under the root, which belong to no identity. */
  loose: number;
  /** People and crops kept. */
  identities: number;
  faces: number;
  cached: number;
  detected: number;
  problems: string[];
}

export function describeData(r: DataReport): string {
  const skipped = [
    r.unreadable && `${r.unreadable} unreadable`,
    r.noFace && `${r.noFace} without a face`,
    r.tooFewPhotos && `${r.tooFewPhotos} identities with fewer than 2 usable photos`,
    r.loose && `${r.loose} files outside identity folders`,
  ].filter(Boolean);
  return `${r.identities} identities, ${r.faces} faces from ${r.photos} photos in ${r.folders} folders (${r.cached} from the cache, ${r.detected} detected)${skipped.length ? `; skipped: ${skipped.join(', ')}` : ''}`;
}

export async function loadIdentities(root: string, cache: FaceCache, onPhoto?: (done: number, total: number) => void): Promise<{ identities: Identity[]; report: DataReport }> {
  const listing = listIdentityFolders(root);
  const total = listing.identities.reduce((s, f) => s + f.files.length, 0);
  const report: DataReport = {
    folders: listing.identities.length, photos: total, unreadable: listing.unreadable.length, noFace: 0, tooFewPhotos: 0, loose: listing.loose,
    identities: 0, faces: 0, cached: 0, detected: 0, problems: listing.unreadable.map((u) => `${u.path}: ${u.reason}`),
  };
  const identities: Identity[] = [];
  let done = 0;
  for (const folder of listing.identities) {
    const person: Identity = { name: folder.name, crops: [], paths: [] };
    for (const path of folder.files) {
      const r = await cache.crop(path);
      if (r.kind === 'face') {
        person.crops.push(r.crop);
        person.paths.push(path);
      } else if (r.kind === 'noFace') report.noFace++;
      else {
        report.unreadable++;
        report.problems.push(r.reason);
      }
      onPhoto?.(++done, total);
    }
    if (person.crops.length >= 2) identities.push(person);
    else report.tooFewPhotos++;
  }
  report.identities = identities.length;
  report.faces = identities.reduce((s, p) => s + p.crops.length, 0);
  report.cached = cache.counts.cached;
  report.detected = cache.counts.detected;
  if (identities.length < 2) {
    throw new TrainingDataError(`${root}: ${identities.length === 0 ? 'no identity has' : 'only one identity has'} 2 or more photos with a detectable face; triplet training needs at least 2 such identities (one folder per person, photos inside). Found: ${describeData(report)}`);
  }
  return { identities, report };
}

/** Seeded split of whole identities: `fraction` of them held back (at least 2), at least 2 kept for training. */
export function holdOut(identities: readonly Identity[], fraction: number, rng: Random): { train: Identity[]; held: Identity[] } {
  if (fraction <= 0) return { train: [...identities], held: [] };
  const held = Math.max(2, Math.round(identities.length * fraction));
  if (identities.length - held < 2) {
    throw new TrainingDataError(`--hold-out ${fraction} of ${identities.length} usable identities leaves ${identities.length - held} to train on; at least 2 are needed (hold out fewer, or add people)`);
  }
  const order = rng.shuffle(identities.map((_, i) => i));
  const heldSet = new Set(order.slice(0, held));
  return { train: identities.filter((_, i) => !heldSet.has(i)), held: identities.filter((_, i) => heldSet.has(i)) };
}
