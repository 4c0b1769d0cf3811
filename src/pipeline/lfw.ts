// LFW verification protocol (Huang et al. 2007): pairs.txt holds K folds of n same-person and n
// different-person pairs; for each fold the threshold is chosen on the other folds and the
// accuracy measured on it. Reported: mean +- std accuracy, TAR at FAR 1e-3, the threshold.
import { existsSync } from 'node:fs';
import { resolveInside } from '../io/insideFolder.ts';
import { DEFAULT_MAX_BYTES } from '../io/limits.ts';
import { readBoundedText } from '../io/readFile.ts';
import { ArgumentError } from '../errors.ts';

export interface LfwPair {
  a: string;
  b: string;
  same: boolean;
  fold: number;
}

/** An LFW person name is one plain path component: no separators, no "." or "..". */
const PLAIN_NAME = /^(?!\.\.?$)[^/\\\x00-\x1f]+$/;
/** Image numbers are positive integers written plainly ("1", "0012"), as LFW writes them. */
const IMAGE_NUMBER = /^0*[1-9]\d{0,5}$/;

/** Parses pairs.txt ("K n" header, then per fold n lines "name i j" and n lines "name1 i name2 j"). */
export function parsePairs(text: string, root: string, file = 'pairs file'): LfwPair[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const header = lines.shift() ?? '';
  const [k, n] = header.split(/\s+/).map((v) => (/^\d{1,7}$/.test(v) ? Number(v) : NaN));
  if (!(k >= 1) || !(n >= 1) || header.split(/\s+/).length !== 2) throw new ArgumentError(`${file}: first line must be "<folds> <pairs per fold>", positive integers`);
  if (lines.length < k * 2 * n) throw new ArgumentError(`${file}: ${k} folds of 2 x ${n} pairs need ${k * 2 * n} lines, found ${lines.length}`);
  const pairs: LfwPair[] = [];
  for (let f = 0; f < k; f++) {
    for (let i = 0; i < 2 * n; i++) {
      const lineNo = f * 2 * n + i + 2;
      const line = lines[f * 2 * n + i];
      const parts = line.split(/\s+/);
      const same = i < n;
      if ((same && parts.length !== 3) || (!same && parts.length !== 4)) throw new ArgumentError(`${file}: line ${lineNo}: expected ${same ? '"name i j"' : '"name1 i name2 j"'}, got "${line}"`);
      const [a, b] = same ? [[parts[0], parts[1]], [parts[0], parts[2]]] : [[parts[0], parts[1]], [parts[2], parts[3]]];
      for (const [name, number] of [a, b]) {
        if (!PLAIN_NAME.test(name)) throw new ArgumentError(`${file}: line ${lineNo}: "${name}" is not a plain name (no slashes, "." or "..")`);
        if (!IMAGE_NUMBER.test(number)) throw new ArgumentError(`${file}: line ${lineNo}: image number "${number}" is not a positive integer`);
      }
      pairs.push({ a: lfwImagePath(root, a[0], Number(a[1])), b: lfwImagePath(root, b[0], Number(b[1])), same, fold: f });
    }
  }
  return pairs;
}

/** root/Name/Name_0001.jpg (the LFW layout), or root/Name_0001.jpg (a flat folder); always inside root. */
export function lfwImagePath(root: string, name: string, index: number): string {
  if (!PLAIN_NAME.test(name) || !Number.isSafeInteger(index) || index < 1) throw new ArgumentError(`LFW image "${name}" ${index}: not a plain name and a positive number`);
  const file = `${name}_${String(index).padStart(4, '0')}.jpg`;
  const nested = resolveInside(root, `${name}/${file}`);
  const flat = resolveInside(root, file);
  if (!nested || !flat) throw new ArgumentError(`LFW image ${file} would lie outside ${root}`);
  return existsSync(nested) ? nested : flat;
}

export function loadPairs(pairsFile: string, root: string, maxBytes: number = DEFAULT_MAX_BYTES.text): LfwPair[] {
  return parsePairs(readBoundedText(pairsFile, maxBytes, (reason) => new ArgumentError(`${pairsFile}: ${reason}`)), root, pairsFile);
}

function accuracyAt(scores: readonly number[], same: readonly boolean[], t: number): number {
  let right = 0;
  for (let i = 0; i < scores.length; i++) if ((scores[i] >= t) === same[i]) right++;
  return scores.length ? right / scores.length : 0;
}

/** The threshold with the best accuracy, among midpoints between sorted scores. */
export function bestThreshold(scores: readonly number[], same: readonly boolean[]): number {
  const sorted = [...new Set(scores)].sort((a, b) => a - b);
  const candidates = [sorted[0] - 1e-6, ...sorted.slice(1).map((s, i) => (s + sorted[i]) / 2), sorted[sorted.length - 1] + 1e-6];
  let best = candidates[0];
  let bestAcc = -1;
  for (const t of candidates) {
    const acc = accuracyAt(scores, same, t);
    if (acc > bestAcc) { bestAcc = acc; best = t; }
  }
  return best;
}

export interface LfwResult {
  folds: number;
  accuracy: number;
  std: number;
  foldAccuracies: number[];
  threshold: number;
  tarAtFar1e3: number;
  pairs: number;
}

/** k-fold evaluation of similarity scores (higher = more alike). */
export function evaluatePairs(scores: readonly number[], pairs: readonly LfwPair[], folds?: number): LfwResult {
  const k = folds ?? Math.max(...pairs.map((p) => p.fold)) + 1;
  const foldOf = (i: number) => (folds ? pairs[i].fold % k : pairs[i].fold);
  const accs: number[] = [];
  const thresholds: number[] = [];
  for (let f = 0; f < k; f++) {
    const train = scores.map((_, i) => i).filter((i) => foldOf(i) !== f);
    const testIdx = scores.map((_, i) => i).filter((i) => foldOf(i) === f);
    if (testIdx.length === 0) continue;
    const pool = train.length ? train : testIdx;
    const t = bestThreshold(pool.map((i) => scores[i]), pool.map((i) => pairs[i].same));
    thresholds.push(t);
    accs.push(accuracyAt(testIdx.map((i) => scores[i]), testIdx.map((i) => pairs[i].same), t));
  }
  const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
  const std = Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / accs.length);
  // TAR at FAR 1e-3: the smallest threshold that lets at most 0.1% of different pairs through.
  const diff = scores.filter((_, i) => !pairs[i].same).sort((a, b) => b - a);
  const allowed = Math.floor(diff.length * 1e-3);
  const tFar = diff.length ? diff[allowed] + 1e-9 : -Infinity;
  const sameScores = scores.filter((_, i) => pairs[i].same);
  const tar = sameScores.length ? sameScores.filter((s) => s >= tFar).length / sameScores.length : 0;
  return { folds: accs.length, accuracy: mean, std, foldAccuracies: accs, threshold: thresholds.reduce((a, b) => a + b, 0) / thresholds.length, tarAtFar1e3: tar, pairs: scores.length };
}
