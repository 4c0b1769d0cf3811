// Small training folders for the train-* tests: a few LFW identities copied from ../shared, plus
// the bad inputs a user's folder may hold (a photo without a face, a file that is no image).
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePng } from '../../src/collection/sheet.ts';
import { sharedPath } from './shared.ts';

export const LFW_DEVTRAIN = 'datasets/lfw-devtrain/images';

/** People of lfw-devtrain with 3 or 4 photos each. */
export const TRAIN_PEOPLE = ['Aaron_Peirsol', 'Abdullah_al-Attiyah', 'Adolfo_Aguilar_Zinser', 'Aicha_El_Ouafi'];

export function tempFolder(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tsface-${prefix}-`));
}

/** root/<Name>/<Name>_000k.jpg for `people`, the first `photos` of each. */
export function copyIdentities(root: string, people: readonly string[], photos: number): void {
  for (const name of people) {
    mkdirSync(join(root, name), { recursive: true });
    for (let k = 1; k <= photos; k++) {
      const file = `${name}_${String(k).padStart(4, '0')}.jpg`;
      copyFileSync(sharedPath(`${LFW_DEVTRAIN}/${name}/${file}`), join(root, name, file));
    }
  }
}

/** A flat grey PNG: decodable, no face on it. */
export function writeBlankPhoto(path: string): void {
  writeFileSync(path, encodePng({ width: 120, height: 120, data: new Uint8Array(120 * 120 * 3).fill(128) }));
}

export function writeBrokenPhoto(path: string): void {
  writeFileSync(path, 'this is not a JPEG');
}
