// On a page that is not cross-origin isolated SharedArrayBuffer does not exist, and a bare
// `x instanceof SharedArrayBuffer` throws there (issue 23). test/browser.test.ts traps every
// look-up on such a page, but only along the paths it runs; this reads every source file, so a
// new op (a backward pass, say) cannot bring a bare use back unnoticed.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { REPO } from '../tools/web/server.ts';

/** Uses that run code (type annotations are erased and harmless). */
const USE = /instanceof\s+SharedArrayBuffer|new\s+SharedArrayBuffer|typeof\s+SharedArrayBuffer|\bAtomics\s*\./;

/**
 * Where a use is allowed: the platform seam, which asks crossOriginIsolated first, and the
 * thread pool's share counter, which only a ThreadPool reaches (its constructor refuses to start
 * without shared memory).
 */
const ALLOWED = new Set(['src/platform/browser.ts', 'src/platform/node.ts', 'src/platform/sharedMemory.ts', 'src/tensor/cpu/threadPool.ts']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

test('SharedArrayBuffer and Atomics are used only through src/platform (sharedMemory.ts) and the thread pool', () => {
  const bare: string[] = [];
  for (const file of sources(join(REPO, 'src'))) {
    const name = relative(REPO, file).split('\\').join('/');
    if (ALLOWED.has(name)) continue;
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, '');
      if (!/^\s*\*/.test(code) && USE.test(code)) bare.push(`${name}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(bare, [], 'use isSharedMemory()/newSharedMemory() from src/platform/sharedMemory.ts instead');
});
