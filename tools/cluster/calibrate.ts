// Calibrates `tsface cluster`'s default thresholds on LFW's development training split, as a
// user would meet them: `tsface scan DIR --embed --out faces.jsonl`, then clustering of one face
// per photo, the photo's folder being its person. People (not photos) are split in two with a
// seeded coin; thresholds are swept for both methods on the calibration people only, and each
// method's default is the one with the highest pairwise F1 that leaves at most --max-unclustered
// of the photos unclustered (listed alone by `tsface cluster` although their person has another
// photo in the set). The held-out people are then clustered at those defaults and reported, with
// the scan's first face of each photo and with the face nearest the centre.
//
//   node --import tsx tools/cluster/calibrate.ts [--threads N] [--seed N] [--from 0.40] [--to 0.70]
//        [--step 0.01] [--max-unclustered 0.02] [--face first|central] [--dataset DIR] [--skip-scan]
//
// --face picks the face the sweep calibrates on. The default, first, is the scan's first face of
// each photo, as a user who keeps one face per photo would take it: the scan lists a photo's faces
// by their area inside the frame, so that is its subject. central, the face nearest the centre, is
// the one LFW names (its README: "the person of the folder name near the centre"); the two differ
// where someone else in the frame is larger.
//
// The scan is cached in .cache/cluster-calibration/ (gitignored) and resumed with --resume, so a
// rerun only re-reads it (--skip-scan takes the cached file as it is). Nothing of LFW's goes into
// the repository.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CLUSTER_METHODS, CLUSTER_THRESHOLDS, clusterFaces, type ClusterMethod } from '../../src/collection/cluster.ts';
import { readEmbeddedFaces } from '../../src/collection/embeddedFaces.ts';
import { MOBILEFACENET } from '../../src/pipeline/embed.ts';
import { scoreGrouping, type GroupingScore } from './pairwise.ts';
import { FACE_PICKS, imageSizes, photoFaces, photosOf, photosPerPerson, splitPeople, type FacePick, type Photo } from './people.ts';

const { values: o } = parseArgs({
  options: {
    threads: { type: 'string' }, seed: { type: 'string', default: '1' }, from: { type: 'string', default: '0.40' }, to: { type: 'string', default: '0.70' },
    step: { type: 'string', default: '0.01' }, 'max-unclustered': { type: 'string', default: '0.02' }, face: { type: 'string', default: 'first' },
    dataset: { type: 'string' }, 'skip-scan': { type: 'boolean', default: false },
  },
});
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const dataset = resolve(o.dataset ?? join(ROOT, '../shared/datasets/lfw-devtrain'));
const imagesDir = join(dataset, 'images');
const work = join(ROOT, '.cache/cluster-calibration');
const scanFile = join(work, 'lfw-devtrain.jsonl');
const splitSeed = Number(o.seed);
const maxUnclustered = Number(o['max-unclustered']);
const pick = o.face as FacePick;
if (!FACE_PICKS.includes(pick)) throw new Error(`--face must be one of ${FACE_PICKS.join(', ')}`);
const model = MOBILEFACENET.name;

if (!existsSync(imagesDir)) {
  console.error(`\n!!! ${imagesDir} is absent: nothing to calibrate on (see ../shared/README.md) !!!\n`);
  process.exit(2);
}

// 1. The scan, as the README tells a user to run it. The JSONL records the folder as given
// (relative to the repository), so it must be given the same way each time or --resume starts over.
mkdirSync(work, { recursive: true });
if (!o['skip-scan']) {
  const scanArgs = ['--import', 'tsx', MAIN, 'scan', relative(ROOT, imagesDir), '--embed', '--model', model, '--out', relative(ROOT, scanFile), '--resume', '--progress-every', '30'];
  if (o.threads) scanArgs.push('--threads', o.threads);
  console.log(`$ node ${scanArgs.join(' ')}`);
  const scan = spawnSync(process.execPath, scanArgs, { cwd: ROOT, stdio: 'inherit' });
  if (scan.status !== 0) throw new Error(`tsface scan exited with ${scan.status ?? scan.signal}`);
}

// 2. People, and one face per photo.
const read = readEmbeddedFaces(scanFile);
if (read.model !== model) throw new Error(`${scanFile} holds ${read.model} embeddings, not ${model}`);
const sizes = imageSizes(scanFile);
const photosBy = { central: photoFaces(read.faces, 'central', sizes), first: photoFaces(read.faces, 'first', sizes) };
const centralOf = new Map(photosBy.central.map((p) => [p.image, p.embedding]));
const firstNotCentral = photosBy.first.filter((p) => centralOf.get(p.image) !== p.embedding).length;
// `detect` lists the largest whole box first; the scan, the largest area inside the frame. Where
// they differ, the larger box is a face cut by the frame, its box reaching past the edge.
const wholeArea = (b: readonly number[]) => (b[2] - b[0]) * (b[3] - b[1]);
const largestWhole = new Map<string, { face: number; area: number }>();
for (const f of read.faces) {
  const best = largestWhole.get(f.image);
  if (!best || wholeArea(f.box) > best.area) largestWhole.set(f.image, { face: f.face, area: wholeArea(f.box) });
}
const cutFirst = [...largestWhole.values()].filter((b) => b.face !== 0).length;
const files = photosPerPerson(imagesDir);
const totalPhotos = [...files.values()].reduce((a, b) => a + b, 0);
console.log(`\n${totalPhotos} photos of ${files.size} people; a face found in ${photosBy.central.length}, none in ${totalPhotos - photosBy.central.length}`);
console.log(`the first face is not the one nearest the centre in ${firstNotCentral} photos`);
console.log(`the first face is not the largest whole box (detect's first) in ${cutFirst} photos`);
const { calibration, heldOut } = splitPeople(files, splitSeed);

/**
 * A side's photos: all its people (those seen once are the strangers of a real collection, right
 * to stay alone; a threshold that chains them into someone's cluster pays in precision), only the
 * people with two or more photos, and those capped at 12 photos apiece (uncapped, the pairs of
 * the few people with a hundred photos or more outweigh everyone else's).
 */
const sets = (photos: readonly Photo[], people: ReadonlySet<string>) => ({
  all: photosOf(photos, people),
  repeat: photosOf(photos, people, { minPhotos: 2 }),
  capped: photosOf(photos, people, { minPhotos: 2, cap: 12 }),
});

const grid: number[] = [];
for (let t = Number(o.from); t <= Number(o.to) + 1e-9; t += Number(o.step)) grid.push(Math.round(t * 1000) / 1000);

const run = (set: readonly Photo[], method: ClusterMethod, threshold: number, seed = 0): GroupingScore =>
  scoreGrouping(clusterFaces(set.map((p) => p.embedding), { threshold, method, seed }), set.map((p) => p.person));

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const row = (label: string, s: GroupingScore) =>
  `${label.padEnd(36)} P ${s.precision.toFixed(4)}  R ${s.recall.toFixed(4)}  F1 ${s.f1.toFixed(4)}  ${String(s.clusters).padStart(4)} clusters / ${String(s.people).padStart(4)} people  ${String(s.alone).padStart(4)} alone, unclustered ${String(s.missedAlone).padStart(3)} = ${pct(s.unclusteredRate)} of ${s.clusterable}`;
const describe = (set: readonly Photo[]) => `${new Set(set.map((p) => p.person)).size} people, ${set.length} photos`;

// 3. The sweep, on the calibration people only.
const cal = sets(photosBy[pick], calibration);
console.log(`split seed ${splitSeed}, ${pick} face: calibration ${describe(cal.all)} (${describe(cal.repeat)} with 2+ photos)`);
console.log('"unclustered": photos `tsface cluster` lists alone although their person has another photo in the set, over all such photos');
const chosen = {} as Record<ClusterMethod, { threshold: number; calibration: GroupingScore }>;
const sweeps = {} as Record<ClusterMethod, { threshold: number; score: GroupingScore }[]>;
for (const method of CLUSTER_METHODS) {
  console.log(`\nsweep, ${method}, calibration people:`);
  sweeps[method] = grid.map((threshold) => {
    const score = run(cal.all, method, threshold);
    console.log(row(`  ${threshold.toFixed(2)}`, score));
    return { threshold, score };
  });
  const admissible = sweeps[method].filter((s) => s.score.unclusteredRate <= maxUnclustered);
  if (admissible.length === 0) throw new Error(`${method}: no threshold in ${grid[0]}..${grid[grid.length - 1]} leaves at most ${pct(maxUnclustered)} unclustered`);
  // Highest F1; among equals, the lower threshold (fewer photos left alone).
  const best = admissible.reduce((a, b) => (b.score.f1 > a.score.f1 ? b : a));
  chosen[method] = { threshold: best.threshold, calibration: best.score };
}

// 4. The held-out people at the chosen defaults, both face picks, beside the verification
// threshold the CLI clustered at before.
const heldOutReport = {} as Record<FacePick, Record<ClusterMethod, Record<string, GroupingScore | number[]>>>;
for (const face of [pick, ...FACE_PICKS.filter((f) => f !== pick)]) {
  const held = sets(photosBy[face], heldOut);
  console.log(`\nheld-out people, never seen by the sweep, ${face} face, ${describe(held.all)} (${describe(held.repeat)} with 2+ photos):`);
  heldOutReport[face] = {} as Record<ClusterMethod, Record<string, GroupingScore | number[]>>;
  for (const method of CLUSTER_METHODS) {
    const t = chosen[method].threshold;
    const r: Record<string, GroupingScore | number[]> = {
      all: run(held.all, method, t),
      repeat: run(held.repeat, method, t),
      capped: run(held.capped, method, t),
      verificationThreshold: run(held.all, method, MOBILEFACENET.threshold),
    };
    console.log(row(`  ${method} at ${t.toFixed(2)}: all`, r.all as GroupingScore));
    console.log(row('    people with 2+ photos', r.repeat as GroupingScore));
    console.log(row('    2+, at most 12 photos a person', r.capped as GroupingScore));
    console.log(row(`    all, at ${MOBILEFACENET.threshold} (verification)`, r.verificationThreshold as GroupingScore));
    if (method === 'chinese-whispers') {
      const bySeed = [0, 1, 2, 3, 4].map((seed) => run(held.all, method, t, seed));
      r.seedF1 = bySeed.map((s) => s.f1);
      r.seedUnclustered = bySeed.map((s) => s.unclusteredRate);
      console.log(`    all, --seed 0..4: F1 ${Math.min(...r.seedF1).toFixed(4)} .. ${Math.max(...r.seedF1).toFixed(4)}, unclustered ${pct(Math.min(...r.seedUnclustered))} .. ${pct(Math.max(...r.seedUnclustered))}`);
    }
    heldOutReport[face][method] = r;
  }
}

const shipped = CLUSTER_THRESHOLDS[model];
console.log(`\nchosen defaults (max calibration F1 with unclustered <= ${pct(maxUnclustered)}, ${pick} face):`);
for (const method of CLUSTER_METHODS) {
  const t = chosen[method].threshold;
  const mark = shipped?.[method] === t ? 'matches src/collection/cluster.ts' : `src/collection/cluster.ts has ${shipped?.[method]}: update it`;
  console.log(`  ${method.padEnd(16)} ${t.toFixed(2)}  (${mark})`);
}
const reportFile = join(work, `report-${pick}-face.json`);
writeFileSync(reportFile, `${JSON.stringify({ model, face: pick, firstNotCentral, cutFirst, splitSeed, maxUnclustered, grid, chosen, heldOut: heldOutReport, sweeps }, null, 1)}\n`);
console.log(`\nreport -> ${relative(ROOT, reportFile)}`);
