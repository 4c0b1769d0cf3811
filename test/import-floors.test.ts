// The source is built in floors: each folder of src/ imports only from folders below it, and no
// files import each other, directly or round a longer loop. Image I/O, for one, sits under the
// pipeline and knows nothing of detectors; the tensor core knows nothing of images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

/** Bottom first; folders on one floor may not import each other. */
const FLOORS: string[][] = [
  ['errors'],
  ['io'],
  ['platform'],
  ['paths'],
  ['tensor'],
  ['autograd', 'runtime'],
  ['image', 'layers'],
  ['nets'],
  ['convert'],
  ['pipeline'],
  ['inspect', 'collection'],
  ['train'],
  ['cli', 'index'],
];

const SRC = 'src';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports and re-exports of a file, type-only ones included, as normalised paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"`;]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)];
  return specs.map((m) => normalize(join(dirname(file), m[1] ?? m[2])));
}

/** 'tensor' for src/tensor/cpu/conv2d.ts, 'paths' for src/paths.ts. */
function folderOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length > 1 ? parts[0] : parts[0].replace(/\.ts$/, '');
}

const floorOf = new Map(FLOORS.flatMap((names, floor) => names.map((n) => [n, floor] as const)));
const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f).filter((to) => to.startsWith(SRC + sep))]));

test('every folder of src/ has a floor', () => {
  const unplaced = [...new Set(files.map(folderOf))].filter((f) => !floorOf.has(f));
  assert.deepEqual(unplaced, [], `give these a floor in FLOORS: ${unplaced.join(', ')}`);
});

test('no import runs up a floor or sideways between folders of one floor', () => {
  const wrong: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const a = folderOf(from), b = folderOf(to);
      if (a !== b && !(floorOf.get(b)! < floorOf.get(a)!)) wrong.push(`${from} -> ${to}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('no files import each other, directly or through others', () => {
  // Tarjan's strongly connected components: any component of more than one file is a loop.
  let next = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), onStack = new Set<string>(), stack: string[] = [];
  const loops: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next); low.set(v, next); next++;
    stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); component.push(w); } while (w !== v);
      if (component.length > 1) loops.push(component.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  assert.deepEqual(loops, []);
});

test('the floor check sees imports: a known edge is found', () => {
  // Guards the regular expression: if it stopped matching, the tests above would pass on nothing.
  assert.ok(graph.get(join(SRC, 'image', 'decode.ts'))!.includes(join(SRC, 'image', 'png', 'decode.ts')));
  assert.ok(graph.get(join(SRC, 'pipeline', 'mtcnn.ts'))!.some((to) => folderOf(to) === 'image'));
});
