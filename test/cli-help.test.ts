// Per-command help: `tsface <command> --help` (and -h) prints that command's usage and exits 0
// for every command, and every usage lists exactly the options its parser takes; the accepted
// options come from the flag tables the commands hand to parseArgs (src/cli/commands.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SELECTIONS } from '../src/collection/imageScanner.ts';
import { COMMANDS } from '../src/cli/commands.ts';
import { main, RUNTIME_FLAGS, USAGE } from '../src/cli/main.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** main() in this process with stdout and stderr captured. */
async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const write = { stdout: process.stdout.write, stderr: process.stderr.write };
  process.stdout.write = ((chunk: string) => ((out.stdout += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((out.stderr += chunk), true)) as typeof process.stderr.write;
  try {
    return { code: await main(argv), ...out };
  } finally {
    process.stdout.write = write.stdout;
    process.stderr.write = write.stderr;
  }
}

/** The options a usage text names (--name), without the ones main takes for every command (common options, --help). */
function optionsIn(text: string): string[] {
  const names = [...text.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]);
  return [...new Set(names)].filter((n) => n !== 'help' && !(RUNTIME_FLAGS as readonly string[]).includes(n)).sort();
}

test('every command tsface has is in the table', () => {
  const names = COMMANDS.map((c) => c.name).sort();
  const expected = ['detect', 'embed', 'compare', 'index add', 'index build', 'index search', 'search', 'align', 'eval-lfw', 'weights', 'summary', 'inspect', 'crosscheck', 'scan', 'cluster', 'worker', 'collect', 'train'];
  assert.deepEqual(names, expected.sort());
});

test("each command's usage lists exactly the options its parser accepts", () => {
  for (const c of COMMANDS) {
    const accepted = [...c.valued, ...c.boolean].filter((n) => n !== 'help').sort();
    assert.deepEqual(optionsIn(c.help ?? c.usage), accepted, c.name);
    // The top-level lines may point to --help for the rest (train), but never name an option the parser refuses.
    for (const o of optionsIn(c.usage)) assert.ok(accepted.includes(o), `${c.name}: --${o}`);
    assert.ok(USAGE.includes(c.usage), `top-level usage lacks ${c.name}`);
  }
  const common = USAGE.slice(USAGE.indexOf('common options'));
  assert.deepEqual([...new Set([...common.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]))].sort(), [...RUNTIME_FLAGS].sort());
  for (const name of ['detect', 'scan']) assert.ok(COMMANDS.find((c) => c.name === name)!.usage.includes(`--select ${SELECTIONS.join('|')}`), name);
});

test('<command> --help and -h print that usage and exit 0, starting nothing else', async () => {
  for (const c of COMMANDS) {
    for (const flag of ['--help', '-h']) {
      const r = await run(...c.name.split(' '), flag);
      assert.equal(r.code, 0, `${c.name} ${flag}: ${r.stderr}`);
      assert.equal(r.stderr, '', `${c.name} ${flag}`);
      assert.ok(r.stdout.includes(c.help ?? c.usage), `${c.name} ${flag}: ${r.stdout}`);
    }
    // `help <command>` says the same.
    assert.equal((await run('help', ...c.name.split(' '))).stdout, (await run(...c.name.split(' '), '--help')).stdout);
  }
  // A subcommand's help is its own; the command's covers every subcommand.
  const build = await run('index', 'build', '--help');
  assert.ok(!build.stdout.includes('index search'));
  const index = await run('index', '--help');
  for (const sub of ['index add', 'index build', 'index search']) assert.ok(index.stdout.includes(`tsface ${sub}`), sub);
  // --help wins over missing arguments and bad values.
  assert.equal((await run('cluster', '--threshold', 'x', '--help')).code, 0);
  const unknown = await run('help', 'frobnicate');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
});

test('an option a command does not list is refused (compare --folds), as a user runs it', () => {
  const tsface = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
  const refused = tsface('compare', 'a.jpg', 'b.jpg', '--folds', '3');
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /unknown option --folds/);
  for (const args of [['scan', '--help'], ['cluster', '-h']]) {
    const r = tsface(...args);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`tsface ${args[0]} `));
  }
});
