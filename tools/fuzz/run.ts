// npm run fuzz -- [--seconds N] [--kind png,npy,...] [--seed S] [--save DIR] [--no-differential]
// Mutational fuzzing of every reader tsface has; inputs that crash, hang or exhaust memory are
// saved under test/fixtures/fuzz/<kind>/ (replayed by test/fuzz-regressions.test.ts). Exit 1
// when anything bad or any difference from the reference readers was found.
import { fileURLToPath } from 'node:url';
import { differential, referenceAvailable } from './differential.ts';
import { fuzz, saveFinding } from './runner.ts';
import { KINDS, type Kind } from './seeds.ts';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
};
const seconds = Number(flag('seconds') ?? 60);
const seed = Number(flag('seed') ?? Date.now() % 2 ** 31);
const kinds = (flag('kind')?.split(',') ?? [...KINDS]) as Kind[];
const unknown = kinds.filter((k) => !KINDS.includes(k));
if (unknown.length || !(seconds > 0) || !Number.isInteger(seed)) {
  process.stderr.write(`usage: npm run fuzz -- [--seconds N] [--kind ${KINDS.join(',')}] [--seed S]\n`);
  process.exit(2);
}
const saveDir = flag('save') ?? fileURLToPath(new URL('../../test/fixtures/fuzz/', import.meta.url));

process.stderr.write(`fuzzing ${kinds.join(', ')} for ${seconds} s, seed ${seed}\n`);
const report = await fuzz({ seconds, kinds, seed, saveDir, log: (l) => process.stderr.write(`${l}\n`) });
let failed = report.findings.length;
for (const [kind, c] of Object.entries(report.counts)) {
  console.log(`${kind.padEnd(12)} accepted ${c.accepted}, typed error ${c.typed}, crash ${c.crash}, hang ${c.hang}, oom ${c.oom}`);
}
console.log(`${report.cases} cases in ${report.seconds.toFixed(1)} s (seed ${seed})`);
if (!args.includes('--no-differential')) {
  if (!referenceAvailable()) console.log('differential pass SKIPPED: numpy/PIL at /usr/bin/python3 unavailable');
  else {
    const d = differential(report.accepted);
    for (const f of d.findings) {
      const file = saveFinding(saveDir, f.kind, f.bytes, 'diff-');
      console.log(`${f.kind}: DIFFERENT from the reference: ${f.detail} (${file})`);
    }
    console.log(`differential: ${d.compared} accepted inputs compared with PIL/NumPy, ${d.findings.length} differ`);
    failed += d.findings.length;
  }
}
process.exit(failed ? 1 : 0);
