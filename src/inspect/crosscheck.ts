// Cross-checking another framework's per-layer tensors against tsface's: load the reference
// (a folder of .npy, a folder with index.json, a .npz or a .safetensors file), map its layer
// names to tsface's, run the same input, and compare layer by layer in execution order.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { DEFAULT_MAX_BYTES } from '../io/limits.ts';
import { readBoundedFile } from '../io/readFile.ts';
import { csvNameFor } from '../convert/openface.ts';
import { Nn4Small2 } from '../nets/facenet.ts';
import type { Net } from '../nets/net.ts';
import type { Backend } from '../tensor/backend.ts';
import { ArgumentError, TsfaceError } from '../errors.ts';
import { readNpy } from '../tensor/npy.ts';
import { readNpz } from '../tensor/npz.ts';
import { readSafetensors } from '../tensor/safetensors.ts';
import { Tensor } from '../tensor/tensor.ts';

export interface Reference {
  input: Tensor | null;
  /** Reference layer name -> tensor. */
  layers: Map<string, Tensor>;
}

const strip = (name: string) => name.replace(/\.npy$/, '').replace(/^(pnet|rnet|onet|pnet_odd)_\d+_/, '').replace(/^\d+_/, '');

/** NHWC (or HWC) -> NCHW for rank-4 (rank-3) tensors; other ranks unchanged. */
export function nhwcToNchw(t: Tensor): Tensor {
  if (t.rank !== 4 && t.rank !== 3) return t;
  const [n, h, w, c] = t.rank === 4 ? t.shape : [1, ...t.shape];
  const out = new Tensor(t.rank === 4 ? [n, c, h, w] : [c, h, w]);
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
    out.data[((b * c + k) * h + y) * w + x] = t.data[((b * h + y) * w + x) * c + k];
  }
  return out;
}

/** A reference problem: one line naming the file and what is wrong with it. */
function refError(file: string, message: string): ArgumentError {
  return new ArgumentError(`reference ${file}: ${message}`);
}

function readRef(file: string, maxBytes: number): Uint8Array {
  return readBoundedFile(file, maxBytes, (reason) => refError(file, reason));
}

/**
 * A file named by index.json: a relative path to an .npy file. References keep shared inputs
 * beside the layer folder ("../input.npy"), so ".." is allowed, but only .npy files are read:
 * an index cannot make tsface read, or report on, any other kind of file.
 */
function fileIn(folder: string, index: string, rel: unknown, what: string): string {
  if (typeof rel !== 'string' || rel === '') throw refError(index, `${what}: "file" is not a file name`);
  if (isAbsolute(rel) || rel.includes('\0')) throw refError(index, `${what}: ${rel} is not a path relative to ${folder}`);
  if (!rel.endsWith('.npy')) throw refError(index, `${what}: ${rel} is not an .npy file`);
  return resolve(folder, rel);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * index.json in one of two shapes:
 * ../shared/reference/mtcnn/layers: { nets: { pnet: { input: { file }, layers: [{ name, file }] } } }
 * ../shared/reference/nn4small2/layers: { input_file, layers: [{ name, file }] }
 */
function indexEntry(spec: unknown, index: string, net: string): { inputFile: unknown; layers: { name: string; file: unknown }[] } {
  if (!isObject(spec)) throw refError(index, 'is not a JSON object');
  let entry: unknown = spec;
  if (spec.nets !== undefined) {
    if (!isObject(spec.nets)) throw refError(index, '"nets" is not an object');
    const nets = spec.nets;
    entry = Object.hasOwn(nets, net) ? nets[net] : Object.values(nets).find((v) => isObject(v) && v.net === net);
    if (entry === undefined) throw refError(index, `has no entry for ${net} (it has ${Object.keys(nets).join(', ') || 'none'})`);
  }
  if (!isObject(entry)) throw refError(index, `the entry for ${net} is not an object`);
  if (!Array.isArray(entry.layers)) throw refError(index, `the entry for ${net} has no "layers" list`);
  const layers = entry.layers.map((l, i) => {
    if (!isObject(l) || typeof l.name !== 'string' || l.name === '') throw refError(index, `layer ${i} is not { "name": string, "file": string }`);
    return { name: l.name, file: l.file };
  });
  // "input" is either { file } or, in the OpenFace dump, a description beside "input_file".
  return { inputFile: isObject(entry.input) ? entry.input.file : entry.input_file, layers };
}

export function loadReference(path: string, net: string, layout: 'nchw' | 'nhwc' = 'nchw', maxBytes: number = DEFAULT_MAX_BYTES.array): Reference {
  if (!existsSync(path)) throw new ArgumentError(`reference ${path} does not exist`);
  const fix = (t: Tensor) => (layout === 'nhwc' ? nhwcToNchw(t) : t);
  const layers = new Map<string, Tensor>();
  let input: Tensor | null = null;
  const npy = (file: string) => fix(readNpy(readRef(file, maxBytes), file));
  if (statSync(path).isDirectory()) {
    const index = join(path, 'index.json');
    if (existsSync(index)) {
      let spec: unknown;
      try {
        spec = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(readRef(index, DEFAULT_MAX_BYTES.text)));
      } catch (e) {
        if (e instanceof TsfaceError) throw e;
        throw refError(index, `is not valid JSON (${(e as Error).message})`);
      }
      const entry = indexEntry(spec, index, net);
      if (entry.inputFile !== undefined && entry.inputFile !== null) input = npy(fileIn(path, index, entry.inputFile, 'input'));
      for (const l of entry.layers) layers.set(l.name, npy(fileIn(path, index, l.file, `layer ${l.name}`)));
    } else {
      for (const f of readdirSync(path).filter((f) => f.endsWith('.npy')).sort()) {
        const name = strip(f);
        if (name === 'input') input = npy(join(path, f));
        else layers.set(name, npy(join(path, f)));
      }
    }
  } else if (path.endsWith('.npz')) {
    for (const [k, t] of readNpz(readRef(path, maxBytes), path, { maxBytes })) (k === 'input' ? (input = fix(t)) : layers.set(k, fix(t)));
  } else if (path.endsWith('.safetensors')) {
    for (const [k, t] of readSafetensors(readRef(path, maxBytes), path).tensors) (k === 'input' ? (input = fix(t)) : layers.set(k, fix(t)));
  } else {
    throw new ArgumentError(`reference ${path}: expected a folder, a .npz or a .safetensors file`);
  }
  return { input, layers };
}

/**
 * Built-in maps from other frameworks' layer names to tsface's trace names. facenet-pytorch's
 * MTCNN module names (conv1, prelu1, pool1, ..., conv4_1, softmax4_1, dense5_1 ...) are
 * tsface's own, so that map is the identity. OpenFace: the reference dump's block names and
 * the CSV tensor prefixes (inception_3a_3x3_conv1 -> inception_3a/3x3/reduce).
 */
export function builtinNameMap(net: string): Record<string, string> {
  if (net !== 'nn4.small2.v1') return {};
  const map: Record<string, string> = { conv2_bn_relu: 'relu2', conv3_bn_relu: 'relu3' };
  for (const e of Nn4Small2().expectedTensors()) {
    if (!e.name.endsWith('.weight')) continue;
    const layer = e.name.slice('nn4.'.length, -'.weight'.length);
    map[csvNameFor(e.name).replace(/_w$/, '')] = layer.replaceAll('.', '/');
  }
  return map;
}

export interface LayerComparison {
  layer: string;
  reference: string;
  shapeMatch: boolean;
  shape: number[];
  referenceShape: number[];
  maxAbs: number;
  /** Max absolute error divided by the reference's absolute maximum. */
  maxRel: number;
  firstMismatch: { index: number; got: number; expected: number } | null;
  ok: boolean;
}

export interface CrosscheckReport {
  net: string;
  atol: number;
  rtol: number;
  layers: LayerComparison[];
  /** Reference tensors with no tsface counterpart. */
  unmatched: string[];
  /** The first layer outside tolerance: where the two implementations diverge. */
  firstDivergent: string | null;
  /** The first layer whose relative error grows tenfold over the previous one's. */
  firstJump: string | null;
  ok: boolean;
}

const squeeze = (s: readonly number[]) => {
  const out = [...s];
  while (out.length > 1 && out[0] === 1) out.shift();
  return out;
};

export async function crosscheck(net: Net, netName: string, backend: Backend, ref: Reference, options: { input?: Tensor; atol?: number; rtol?: number; nameMap?: Record<string, string> } = {}): Promise<CrosscheckReport> {
  const atol = options.atol ?? 1e-6;
  const rtol = options.rtol ?? 1e-4;
  const input = options.input ?? ref.input;
  if (!input) throw new ArgumentError('no input: pass --input FILE (the reference has none)');
  const x = input.rank === 3 ? input.reshape([1, ...input.shape]) : input;
  const map = { ...builtinNameMap(netName), ...(options.nameMap ?? {}) };
  const byTsface = new Map<string, string>();
  for (const name of ref.layers.keys()) byTsface.set(map[name] ?? name, name);
  const rows: LayerComparison[] = [];
  await net.forward(backend, x, (name, t) => {
    const refName = byTsface.get(name);
    if (!refName) return;
    const expected = ref.layers.get(refName)!;
    const shape = squeeze(t.shape);
    const referenceShape = squeeze(expected.shape);
    const shapeMatch = shape.length === referenceShape.length && shape.every((d, i) => d === referenceShape[i]);
    let maxAbs = Infinity, peak = 0;
    let firstMismatch: LayerComparison['firstMismatch'] = null;
    if (shapeMatch) {
      maxAbs = 0;
      for (let i = 0; i < expected.size; i++) peak = Math.max(peak, Math.abs(expected.data[i]));
      for (let i = 0; i < expected.size; i++) {
        const d = Math.abs(t.data[i] - expected.data[i]);
        if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Infinity : d;
        if (!firstMismatch && !(d <= atol + rtol * peak)) firstMismatch = { index: i, got: t.data[i], expected: expected.data[i] };
      }
    }
    rows.push({ layer: name, reference: refName, shapeMatch, shape, referenceShape, maxAbs, maxRel: maxAbs / (peak || 1), firstMismatch, ok: shapeMatch && !firstMismatch });
  });
  const seen = new Set(rows.map((r) => r.reference));
  const firstJump = rows.find((r, i) => !r.ok && (i === 0 || r.maxRel > 10 * Math.max(rows[i - 1].maxRel, 1e-7)))?.layer ?? null;
  const firstDivergent = rows.find((r) => !r.ok)?.layer ?? null;
  return { net: netName, atol, rtol, layers: rows, unmatched: [...ref.layers.keys()].filter((k) => !seen.has(k)), firstDivergent, firstJump, ok: rows.length > 0 && !firstDivergent };
}

export function formatCrosscheck(r: CrosscheckReport): string {
  const lines = [`crosscheck ${r.net}: ${r.layers.length} layers compared (atol ${r.atol}, rtol ${r.rtol} of each tensor's max)`];
  lines.push(`${'layer'.padEnd(28)} ${'reference'.padEnd(22)} ${'shape'.padEnd(14)} ${'max abs'.padStart(10)} ${'max rel'.padStart(10)}  first mismatch`);
  for (const l of r.layers) {
    const mismatch = l.firstMismatch ? `[${l.firstMismatch.index}] got ${l.firstMismatch.got.toPrecision(6)} expected ${l.firstMismatch.expected.toPrecision(6)}` : '';
    lines.push(`${l.layer.padEnd(28)} ${l.reference.padEnd(22)} ${(l.shapeMatch ? l.shape.join('x') : `${l.shape.join('x')}!=${l.referenceShape.join('x')}`).padEnd(14)} ${l.maxAbs.toExponential(2).padStart(10)} ${l.maxRel.toExponential(2).padStart(10)}  ${l.ok ? 'ok' : `FAIL ${mismatch}`}`);
  }
  if (r.unmatched.length) lines.push(`not compared (no tsface layer of that name; map it with --map): ${r.unmatched.join(', ')}`);
  lines.push(r.ok ? 'all layers within tolerance' : `first divergent layer: ${r.firstDivergent}${r.firstJump && r.firstJump !== r.firstDivergent ? ` (error jumps tenfold first at ${r.firstJump})` : ''}`);
  return lines.join('\n');
}


