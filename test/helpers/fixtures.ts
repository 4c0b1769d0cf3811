import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readSafetensors, type SafetensorsFile } from '../../src/tensor/safetensors.ts';

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

export function loadFixture(name: string): SafetensorsFile {
  const path = fixturePath(name);
  return readSafetensors(readFileSync(path), path);
}
