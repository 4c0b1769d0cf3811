// Every input the fuzzer ever saved (test/fixtures/fuzz/<kind>/*.bin) is replayed through its
// reader: it must now be accepted or refused with a typed error, quickly. Files saved for a
// difference from the reference reader (diff-*.bin) must now read as the reference reads them.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TsfaceError } from '../src/errors.ts';
import { differential, referenceAvailable } from '../tools/fuzz/differential.ts';
import { runTarget } from '../tools/fuzz/targets.ts';
import { KINDS, type Kind } from '../tools/fuzz/seeds.ts';

const ROOT = fileURLToPath(new URL('./fixtures/fuzz/', import.meta.url));

const saved = KINDS.flatMap((kind) => {
  const dir = join(ROOT, kind);
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.bin')).sort().map((f) => [kind, join(dir, f)] as [Kind, string]) : [];
});

test('saved fuzz findings are accepted or refused with a typed error', { skip: saved.length === 0 && 'no saved fuzz findings' }, () => {
  for (const [kind, file] of saved) {
    const bytes = readFileSync(file);
    let accepted = true;
    try {
      runTarget(kind, bytes);
    } catch (e) {
      assert.ok(e instanceof TsfaceError, `${file}: ${(e as Error)?.stack ?? e}`);
      accepted = false;
    }
    if (accepted && file.includes('diff-') && referenceAvailable()) {
      assert.deepEqual(differential(new Map([[kind, [bytes]]])).findings.map((f) => f.detail), [], file);
    }
  }
});
