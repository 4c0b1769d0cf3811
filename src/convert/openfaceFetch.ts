// `tsface weights fetch openface`: downloads the CSV dump at the pinned commit, checks every
// file parses to the expected number of values, converts, and writes the safetensors file into
// the user's cache. (It needs GitHub, which tsface's own CI cannot reach: the conversion it
// ends with is what the tests cover.)
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir, openFaceCachePath } from '../io/cachePaths.ts';
import { Nn4Small2 } from '../nets/facenet.ts';
import { WeightsError } from '../errors.ts';
import { writeSafetensors } from '../tensor/safetensors.ts';
import { convertOpenFaceCsv, csvNameFor, OPENFACE_SOURCE, parseCsvTensor } from './openface.ts';

/** Writes a conversion through a temporary file, so an interrupted run leaves nothing half-written. */
export function writeConversion(path: string, tensors: Parameters<typeof writeSafetensors>[0], metadata: Record<string, string>): void {
  const tmp = `${path}.partial-${process.pid}`;
  writeFileSync(tmp, writeSafetensors(tensors, metadata));
  renameSync(tmp, path);
}

export async function fetchOpenFace(log: (line: string) => void = () => {}): Promise<string> {
  const base = `https://raw.githubusercontent.com/${OPENFACE_SOURCE.repository}/${OPENFACE_SOURCE.commit}/${OPENFACE_SOURCE.folder}`;
  const staging = mkdtempSync(join(tmpdir(), 'tsface-openface-'));
  try {
    const expected = Nn4Small2().expectedTensors();
    for (const [i, e] of expected.entries()) {
      const name = csvNameFor(e.name);
      const response = await fetch(`${base}/${name}.csv`);
      if (!response.ok) throw new WeightsError(`${base}/${name}.csv`, null, `HTTP ${response.status}`);
      const text = await response.text();
      parseCsvTensor(text, name, e.shape.reduce((a, b) => a * b, 1));
      writeFileSync(join(staging, `${name}.csv`), text);
      log(`[${i + 1}/${expected.length}] ${name}.csv`);
    }
    const { tensors, metadata } = convertOpenFaceCsv(staging);
    mkdirSync(cacheDir(), { recursive: true });
    writeConversion(openFaceCachePath(), tensors, metadata);
    return openFaceCachePath();
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
