// Where tsface keeps what it makes for the user (converted OpenFace weights, training face crops):
// TSFACE_CACHE, else XDG's cache folder. Node only.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheDir(): string {
  return process.env.TSFACE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tsface');
}

export function openFaceCachePath(): string {
  return join(cacheDir(), 'nn4.small2.v1.safetensors');
}
