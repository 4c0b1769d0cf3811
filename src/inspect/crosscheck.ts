// Cross-checking another framework's per-layer tensors against tsface's: load the reference
// (a folder of .npy, a folder with index.json, a .npz or a .safetensors file), map its layer
// names to tsface's, run the same input, and compare layer by layer in execution order.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { csvNameFor } from '../convert/openface.ts';
import { Nn4Small2 } from '../nets/facenet.ts';
import type { Net } from '../nets/net.ts';
import type { Backend } from '../tensor/backend.ts';
import { ArgumentError } from '../tensor/errors.ts';
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

export function loadReference(path: string, net: string, layout: 'nchw' | 'nhwc' = 'nchw'): Reference {
  if (!existsSync(path)) throw new ArgumentError(`reference ${path} does not exist`);
  const fix = (t: Tensor) => (layout === 'nhwc' ? nhwcToNchw(t) : t);
  const layers = new Map<string, Tensor>();
  let input: Tensor | null = null;
  const npy = (file: string) => fix(readNpy(readFileSync(file), file));
  if (statSync(path).isDirectory()) {
    const index = join(path, 'index.json');
    if (existsSync(index)) {
      const spec = JSON.parse(readFileSync(index, 'utf8'));
      // ../shared/reference/mtcnn/layers: { nets: { pnet: { input: { file }, layers: [{ name, file }] } } }
      // ../shared/reference/nn4small2/layers: { input_file, layers: [{ name, file }] }
      const entry = spec.nets ? spec.nets[net] ?? Object.values<any>(spec.nets).find((v) => v.net === net) : spec;
      if (!entry) throw new ArgumentError(`${index} has no entry for ${net} (it has ${Object.keys(spec.nets ?? {}).join(', ')})`);
      const inputFile = entry.input?.file ?? entry.input_file;
      if (inputFile) input = npy(resolve(path, inputFile));
      for (const l of entry.layers) layers.set(l.name, npy(join(path, l.file)));
    } else {
      for (const f of readdirSync(path).filter((f) => f.endsWith('.npy')).sort()) {
        const name = strip(f);
        if (name === 'input') input = npy(join(path, f));
        else layers.set(name, npy(join(path, f)));
      }
    }
  } else if (path.endsWith('.npz')) {
    for (const [k, t] of readNpz(readFileSync(path), path)) (k === 'input' ? (input = fix(t)) : layers.set(k, fix(t)));
  } else if (path.endsWith('.safetensors')) {
    for (const [k, t] of readSafetensors(readFileSync(path), path).tensors) (k === 'input' ? (input = fix(t)) : layers.set(k, fix(t)));
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


