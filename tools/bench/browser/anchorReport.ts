// Node side: tsface against the anchor libraries (face-api, human) on the faces-* rows: the time
// ratio per matching backend (gpu.js webgl2 : tf.js webgl, webgpu : webgpu, CPU backend : wasm),
// and the faces each one finds on each shared photo, with how many of tsface's boxes an anchor's
// box overlaps at IoU >= 0.5 (one to one, best overlaps first).
import type { BrowserRow, PageKind } from './report.ts';
import { matchBoxes, type FaceBox } from '../../../src/pipeline/faceTracks.ts';

export const ANCHORS = ['face-api', 'human'] as const;

/** The anchors' tf.js backend that each tsface surface is compared with. */
const MATCH: [string, (r: BrowserRow) => boolean, string][] = [
  ['cpu x1', (r) => r.backend === 'cpu' && r.threads === 1, 'wasm'],
  ['cpu x2', (r) => r.backend === 'cpu' && r.threads === 2, 'wasm'],
  ['gpujs webgl2', (r) => r.backend === 'gpujs' && r.mode.startsWith('webgl2'), 'webgl'],
  ['gpujs webgpu', (r) => r.backend === 'gpujs' && r.mode.startsWith('webgpu'), 'webgpu'],
];

const isAnchor = (r: BrowserRow, lib: string, backend: string) => r.backend === lib && r.mode.startsWith(backend);

export function printAnchorRatios(rows: BrowserRow[]): void {
  const faces = rows.filter((r) => r.case.startsWith('faces-') && r.runs.length);
  if (!faces.length) return;
  console.log('\nratios tsface / anchor, detection + landmarks + embedding of every face, per picture (at or below 1.00: tsface no slower):');
  for (const page of [...new Set(faces.map((r) => r.page))]) {
    for (const name of [...new Set(faces.map((r) => r.case))]) {
      const of = faces.filter((r) => r.page === page && r.case === name);
      const lines: string[] = [];
      for (const [label, mine, backend] of MATCH) {
        const m = of.find(mine);
        if (!m) continue;
        for (const lib of ANCHORS) {
          const a = of.find((r) => isAnchor(r, lib, backend));
          if (a) lines.push(`tsface ${label} / ${lib} ${a.mode} x${a.threads}: ${(m.ms / a.ms).toFixed(2)} (${m.ms.toFixed(1)} vs ${a.ms.toFixed(1)} ms; faces ${m.boxes?.length ?? '?'} vs ${a.boxes?.length ?? '?'})${m.emulation ? ' [SwiftShader emulation]' : ''}`);
        }
      }
      if (lines.length) console.log(`  ${page.padEnd(8)} ${name.padEnd(22)} ${lines.join(`\n  ${''.padEnd(32)}`)}`);
    }
  }
}

type Box = number[];

/** Pairs of boxes, one to one, taken by highest IoU first, that overlap at `at` or more. */
export function matchedBoxes(mine: Box[], theirs: Box[], at = 0.5): number {
  return matchBoxes(mine as unknown as FaceBox[], theirs as unknown as FaceBox[], at).length;
}

/**
 * Faces found per shared photo: tsface's CPU backend and each anchor on its wasm backend (the
 * non-emulated backends; detections do not depend on the backend beyond float rounding), from one page.
 */
export function printFacesTable(rows: BrowserRow[], page: PageKind): void {
  const faces = rows.filter((r) => r.page === page && r.case.startsWith('faces-') && r.boxes);
  const pick = (name: string, who: (r: BrowserRow) => boolean) => faces.find((r) => r.case === name && who(r));
  const names = [...new Set(faces.map((r) => r.case))];
  if (!names.length) return;
  console.log(`\nfaces found (${page} page; tsface: CPU backend, anchors: tf.js wasm); matched = tsface boxes with an anchor box at IoU >= 0.5 (human's box: the extent of its face mesh, see anchor.ts):`);
  console.log(`  ${'picture'.padEnd(34)} ${'tsface'.padStart(6)} ${'face-api'.padStart(8)} ${'matched'.padStart(7)} ${'human'.padStart(6)} ${'matched'.padStart(7)}`);
  for (const name of names) {
    const t = pick(name, (r) => r.backend === 'cpu') ?? pick(name, (r) => r.backend === 'gpujs');
    const cells = [t?.boxes?.length ?? '-'] as (number | string)[];
    for (const lib of ANCHORS) {
      const a = pick(name, (r) => isAnchor(r, lib, 'wasm')) ?? pick(name, (r) => r.backend === lib);
      cells.push(a?.boxes?.length ?? '-', t?.boxes && a?.boxes ? matchedBoxes(t.boxes, a.boxes) : '-');
    }
    const [c0, c1, c2, c3, c4] = cells.map(String);
    console.log(`  ${name.padEnd(34)} ${c0.padStart(6)} ${c1.padStart(8)} ${c2.padStart(7)} ${c3.padStart(6)} ${c4.padStart(7)}`);
  }
}
