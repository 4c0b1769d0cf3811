// Runs the test command N times in a row and reports each run, to find tests that fail by
// scheduling luck: `npm run test:repeat -- --runs 10 --load 5` runs `npm test` ten times, the
// last five beside a CPU-bound process (one busy loop per --load-threads, default 1).
// `--command "node --import tsx --test test/pass-split.test.ts"` repeats one file instead.
import { spawn, type ChildProcess } from 'node:child_process';

interface Options {
  runs: number;
  /** How many of the runs (the last ones) have the CPU-bound process beside them. */
  load: number;
  loadThreads: number;
  command: string;
}

function parse(argv: readonly string[]): Options {
  const o: Options = { runs: 10, load: 0, loadThreads: 1, command: 'npm test' };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === '--runs') o.runs = Number(v), i++;
    else if (argv[i] === '--load') o.load = Number(v), i++;
    else if (argv[i] === '--load-threads') o.loadThreads = Number(v), i++;
    else if (argv[i] === '--command') o.command = v, i++;
    else throw new Error(`unknown option ${argv[i]} (--runs N --load N --load-threads N --command CMD)`);
  }
  if (!(o.runs >= 1 && o.load >= 0 && o.load <= o.runs && o.loadThreads >= 1)) throw new Error('need --runs >= 1 and 0 <= --load <= --runs');
  return o;
}

/** A process that keeps one core busy per thread until killed. */
function cpuHog(threads: number): ChildProcess {
  const loop = `const { Worker } = require('node:worker_threads');
for (let i = 1; i < ${threads}; i++) new Worker('for (;;) {}', { eval: true });
for (;;) {}`;
  return spawn(process.execPath, ['-e', loop], { stdio: 'ignore' });
}

interface RunResult { pass: number; fail: number; skipped: number; code: number | null; seconds: number; failures: string[] }

function runOnce(command: string): Promise<RunResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, { shell: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('exit', (code) => {
      const count = (name: string) => Number(out.match(new RegExp(`^ℹ ${name} (\\d+)`, 'm'))?.[1] ?? out.match(new RegExp(`^# ${name} (\\d+)`, 'm'))?.[1] ?? NaN);
      // The spec reporter marks failing tests with ✖; keep their names for the report.
      const failures = [...new Set(out.split('\n').filter((l) => /^\s*✖ /.test(l) && !/failing tests:/.test(l)).map((l) => l.trim()))];
      resolve({ pass: count('pass'), fail: count('fail'), skipped: count('skipped'), code, seconds: (Date.now() - t0) / 1000, failures });
    });
  });
}

const options = parse(process.argv.slice(2));
const results: RunResult[] = [];
for (let run = 1; run <= options.runs; run++) {
  const loaded = run > options.runs - options.load;
  const hog = loaded ? cpuHog(options.loadThreads) : null;
  try {
    const r = await runOnce(options.command);
    results.push(r);
    const line = `run ${run}/${options.runs}${loaded ? ` (beside ${options.loadThreads} busy thread${options.loadThreads > 1 ? 's' : ''})` : ''}: ` +
      `exit ${r.code}, ${r.pass} pass, ${r.fail} fail, ${r.skipped} skipped, ${r.seconds.toFixed(0)} s`;
    console.log(line);
    for (const f of r.failures) console.log(`    ${f}`);
  } finally {
    hog?.kill('SIGKILL');
  }
}
const failed = results.filter((r) => r.code !== 0).length;
console.log(`${results.length - failed} of ${results.length} runs passed`);
process.exitCode = failed ? 1 : 0;
