// The pipeline learns what a backend can do from Backend.capabilities, never from its class or
// its describe() text, so a new backend needs no edit in the stages above it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { GpujsBackend } from '../src/tensor/gpujs/backend.ts';

test('the CPU backend reads host tensors and says whether its 3x3 convs run as Winograd blocks', () => {
  assert.deepEqual(new CpuBackend({ threads: 1 }).capabilities, { hostTensors: true, winogradBlocks: new CpuBackend({ threads: 1 }).winograd, compilesPerShape: false });
  assert.equal(new CpuBackend({ threads: 1, winograd: false }).capabilities.winogradBlocks, false);
  assert.equal(new CpuBackend({ threads: 1, simd: false }).capabilities.winogradBlocks, false);
});

test('the gpu.js backend resizes on its device, runs no Winograd blocks and compiles per shape', () => {
  assert.deepEqual(new GpujsBackend({ mode: 'cpu' }).capabilities, { hostTensors: false, winogradBlocks: false, compilesPerShape: true });
});

test('no stage above the tensor core tests a backend class or parses describe()', () => {
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) { if (path !== join('src', 'tensor')) walk(path); continue; }
      if (!path.endsWith('.ts')) continue;
      const text = readFileSync(path, 'utf8');
      if (/instanceof\s+(CpuBackend|GpujsBackend)|describe\(\)\.(mode|backend)\b/.test(text)) offenders.push(path);
    }
  };
  walk('src');
  assert.deepEqual(offenders, []);
});
