// The fine-tuning experiment of issue 24: does `tsface train` win back what a low-resolution
// camera costs MobileFaceNet? Splits lfw-devtrain's people (those with 2+ photos) into training
// and held-back identities (seeded), writes degraded copies of both (each photo downscaled to
// --size px and back, PIL bicubic, stored losslessly: PNG bytes under the .jpg names eval-lfw
// expects), builds an LFW pairs file among the held-back people, and runs eval-lfw (--upscale
// 250) before and after `tsface train <degraded training people> --model mobilefacenet --init
// bundled --epochs 2 --out FILE`, on the degraded and the full-resolution held-back photos.
//
//   node --import tsx tools/train/finetune-lfw.ts [--identities N] [--held F] [--pairs N] [--size 32]
//        [--epochs N] [--work DIR] [--dataset DIR] [--seed N] [--threads N] [--train-args "..."]
//
// Everything it writes goes under --work (default $TSFACE_CACHE/finetune-lfw or
// ~/.cache/tsface/finetune-lfw), never into the repository: the photos are LFW's, not ours.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodePng } from '../../src/collection/sheet.ts';
import { cacheDir } from '../../src/io/cachePaths.ts';
import { toRgbImage } from '../../src/image/decode.ts';
import { degrade, parseDegradation } from '../../src/train/degrade.ts';
import { Random } from '../../src/train/random.ts';

const { values: o } = parseArgs({
  options: {
    identities: { type: 'string' }, held: { type: 'string', default: '0.2' }, pairs: { type: 'string', default: '300' },
    size: { type: 'string', default: '32' }, epochs: { type: 'string' }, work: { type: 'string' }, seed: { type: 'string', default: '1' },
    dataset: { type: 'string' }, threads: { type: 'string' }, 'train-args': { type: 'string', default: '' }, 'skip-train': { type: 'boolean', default: false },
  },
});
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const dataset = resolve(o.dataset ?? fileURLToPath(new URL('../../../shared/datasets/lfw-devtrain', import.meta.url)));
const work = resolve(o.work ?? join(cacheDir(), 'finetune-lfw'));
const seed = Number(o.seed);
const size = Number(o.size);
const threads = o.threads ? ['--threads', o.threads] : [];

// People with two or more photos, from the official list.
const people = readFileSync(join(dataset, 'peopleDevTrain.txt'), 'utf8').trim().split('\n').slice(1)
  .map((l) => l.split('\t')).map(([name, n]) => ({ name, photos: Number(n) })).filter((p) => p.photos >= 2);
const rng = new Random(seed);
rng.shuffle(people);
const used = people.slice(0, o.identities ? Number(o.identities) : people.length);
const heldCount = Math.max(2, Math.round(used.length * Number(o.held)));
const held = used.slice(0, heldCount);
const trainPeople = used.slice(heldCount);
const tag = `n${used.length}-h${heldCount}-s${seed}-${size}px`;
const root = join(work, tag);
console.log(`${used.length} identities with 2+ photos: ${trainPeople.length} to train on, ${held.length} held back -> ${root}`);

const photoName = (name: string, k: number) => `${name}_${String(k).padStart(4, '0')}.jpg`;
const steps = parseDegradation(`downscale:${size}`);
function writeCopies(group: typeof used, part: string): void {
  for (const p of group) {
    for (const [variant, lossy] of [['full', false], [`${size}px`, true]] as const) {
      const dir = join(root, variant, part, p.name);
      mkdirSync(dir, { recursive: true });
      for (let k = 1; k <= p.photos; k++) {
        const src = join(dataset, 'images', p.name, photoName(p.name, k));
        const dst = join(dir, photoName(p.name, k));
        if (existsSync(dst)) continue;
        if (!lossy) copyFileSync(src, dst);
        else writeFileSync(dst, encodePng(degrade(toRgbImage(src), steps)));
      }
    }
  }
}
writeCopies(held, 'held');
writeCopies(trainPeople, 'train');

// 10 folds of n same-person and n different-person pairs among the held-back people.
const pairsFile = join(root, 'pairs.txt');
const same: string[] = [];
for (const p of held) for (let a = 1; a <= p.photos; a++) for (let b = a + 1; b <= p.photos; b++) same.push(`${p.name}\t${a}\t${b}`);
const perFold = Math.min(Math.floor(Number(o.pairs) / 20), Math.floor(same.length / 10));
if (perFold < 1) throw new Error(`the ${held.length} held-back people give only ${same.length} same-person pairs: hold back more`);
const pairRng = new Random(seed + 100);
const positives = pairRng.shuffle(same).slice(0, perFold * 10);
const lines = [`10\t${perFold}`];
for (let f = 0; f < 10; f++) {
  lines.push(...positives.slice(f * perFold, (f + 1) * perFold));
  for (let k = 0; k < perFold; k++) {
    const i = pairRng.int(held.length);
    let j = pairRng.int(held.length - 1);
    if (j >= i) j++;
    lines.push(`${held[i].name}\t${1 + pairRng.int(held[i].photos)}\t${held[j].name}\t${1 + pairRng.int(held[j].photos)}`);
  }
}
writeFileSync(pairsFile, `${lines.join('\n')}\n`);
console.log(`${pairsFile}: ${perFold * 20} pairs`);

interface Eval { accuracy: number; std: number; tarAtFar1e3: number }
function evalLfw(variant: string, weights?: string): Eval {
  const args = [MAIN, 'eval-lfw', '--root', join(root, variant, 'held'), '--pairs', pairsFile, '--upscale', '250', '--json', ...threads, ...(weights ? ['--weights', weights] : [])];
  const out = execFileSync(process.execPath, ['--import', 'tsx', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Eval;
}

const model = join(root, 'mobilefacenet-finetuned.safetensors');
const t0 = performance.now();
const before = { degraded: evalLfw(`${size}px`), full: evalLfw('full') };
const evalSeconds = (performance.now() - t0) / 1000;
let trainSeconds = 0;
if (!o['skip-train']) {
  const trainArgs = [MAIN, 'train', join(root, `${size}px`, 'train'), '--model', 'mobilefacenet', '--init', 'bundled', ...(o.epochs ? ['--epochs', o.epochs] : ['--epochs', '2']), '--out', model, ...threads, ...o['train-args'].split(' ').filter(Boolean)];
  console.log(`tsface ${trainArgs.slice(1).join(' ')}`);
  const t1 = performance.now();
  execFileSync(process.execPath, ['--import', 'tsx', ...trainArgs], { stdio: 'inherit' });
  trainSeconds = (performance.now() - t1) / 1000;
}
const after = { degraded: evalLfw(`${size}px`, model), full: evalLfw('full', model) };

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
const row = (label: string, b: Eval, a: Eval) => `| ${label} | ${pct(b.accuracy)} +- ${pct(b.std)} | ${pct(a.accuracy)} +- ${pct(a.std)} | ${((a.accuracy - b.accuracy) * 100).toFixed(2)} | ${pct(b.tarAtFar1e3)} -> ${pct(a.tarAtFar1e3)} |`;
console.log(`\n${held.length} held-back identities, ${perFold * 20} pairs; trained on ${trainPeople.length} identities at ${size} px; training ${(trainSeconds / 60).toFixed(1)} min, one eval pair of runs ${(evalSeconds / 60).toFixed(1)} min\n`);
console.log('| held-back photos | bundled | fine-tuned | points | TAR at FAR 1e-3 |');
console.log('|---|---|---|---|---|');
console.log(row(`${size} px`, before.degraded, after.degraded));
console.log(row('full resolution', before.full, after.full));
console.log(`\ncurves: ${model.replace(/\.safetensors$/, '.curves.png')}`);
