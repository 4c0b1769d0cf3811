import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The tsface package directory: the nearest folder above this file with a package.json, the
 * same whether running from src/ (through tsx) or from the built dist/src/.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return dir;
}

export function bundledWeights(name: string): string {
  return join(packageRoot(), 'weights', name);
}
