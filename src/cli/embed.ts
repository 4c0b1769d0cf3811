// tsface embed / compare / search / index / align / eval-lfw.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Canvas } from '../image/draw.ts';
import { FaceEmbedder, type EmbeddedFace } from '../pipeline/embed.ts';
import { toRgbImage, type RgbImage } from '../image/decode.ts';
import { evaluatePairs, loadPairs } from '../pipeline/lfw.ts';
import { areaResize } from '../tensor/cpu/resample.ts';
import { resizeBicubic } from '../image/resize.ts';
import { cosineSimilarity, FaceIndex, squaredL2, verify } from '../pipeline/verify.ts';
import { ArgumentError, TsfaceError } from '../errors.ts';
import { numberFlag, parseArgs, type ParsedArgs } from './args.ts';
import { makeOutputFolder } from './folders.ts';
import { imageErrorLine, toJson, uniqueOutputNames, userMessage } from './output.ts';
import type { Runtime } from '../runtime.ts';

/** Each command's usage line and the options its parser takes (the help test compares the two). */
export const EMBED_COMMANDS = {
  embed: {
    usage: 'tsface embed <image...> [--model mobilefacenet|nn4.small2.v1] [--weights FILE] [--json]',
    valued: new Set(['model', 'weights']),
    boolean: new Set(['json']),
  },
  compare: {
    usage: 'tsface compare <a> <b> [--model M] [--weights FILE] [--threshold T] [--json]',
    valued: new Set(['model', 'weights', 'threshold']),
    boolean: new Set(['json']),
  },
  'index add': {
    usage: 'tsface index add <index.json|index.safetensors> --label NAME <image...> [--model M] [--weights FILE]',
    valued: new Set(['label', 'model', 'weights']),
    boolean: new Set<string>(),
  },
  search: {
    usage: 'tsface search --index FILE <image> [--k N] [--model M] [--weights FILE] [--json]',
    valued: new Set(['index', 'k', 'model', 'weights']),
    boolean: new Set(['json']),
  },
  align: {
    usage: 'tsface align <image...> --out DIR [--model M] [--weights FILE]',
    valued: new Set(['out', 'model', 'weights']),
    boolean: new Set<string>(),
  },
  'eval-lfw': {
    usage: 'tsface eval-lfw --root DIR --pairs pairs.txt [--folds K] [--model M] [--weights FILE] [--upscale 250] [--json]',
    valued: new Set(['root', 'pairs', 'folds', 'model', 'weights', 'upscale']),
    boolean: new Set(['json']),
  },
} as const;

export const EMBED_USAGE = Object.values(EMBED_COMMANDS).map((c) => c.usage).join('\n  ');

function embedder(args: ParsedArgs, runtime: Runtime): FaceEmbedder {
  return new FaceEmbedder({ backend: runtime.backend, model: (args.flags.get('model') as string) ?? 'mobilefacenet', weights: args.flags.get('weights') as string | undefined });
}

async function largestFace(e: FaceEmbedder, path: string): Promise<EmbeddedFace> {
  const { faces } = await e.embed(path, { selection: 'largest' });
  if (faces.length === 0) throw new TsfaceError('E_NO_FACE', `${path}: no face found`);
  return faces[0];
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

export async function embedCommand(command: string, argv: readonly string[], runtime: Runtime): Promise<number> {
  const spec = EMBED_COMMANDS[(command === 'index' ? 'index add' : command) as keyof typeof EMBED_COMMANDS];
  if (!spec) throw new ArgumentError(`unknown command ${command}`);
  const args = parseArgs(argv, spec.valued, spec.boolean);
  const json = args.flags.has('json');
  const pos = args.positionals;
  const e = embedder(args, runtime);
  switch (command) {
    case 'embed': {
      if (pos.length === 0) throw new ArgumentError(`no image given\nusage: ${EMBED_USAGE}`);
      const out: object[] = [];
      let failed = 0;
      for (const path of pos) {
        try {
          const r = await e.embed(path);
          out.push({ image: path, faces: r.faces.map((f) => ({ box: f.box, score: f.score, embedding: Array.from(f.embedding, round) })) });
          if (!json) console.log(`${path}: ${r.faces.length} face${r.faces.length === 1 ? '' : 's'} embedded (${e.model.name}, ${r.faces[0]?.embedding.length ?? 0}-d)${r.skipped.length ? `, ${r.skipped.length} skipped: ${r.skipped.map((s) => s.reason).join('; ')}` : ''}`);
        } catch (err) {
          const message = userMessage(err);
          if (message === null) throw err;
          failed++;
          out.push({ image: path, error: message });
          if (!json) console.error(imageErrorLine(path, message));
        }
      }
      if (json) console.log(toJson(out));
      return failed ? 1 : 0;
    }
    case 'compare': {
      if (pos.length !== 2) throw new ArgumentError(`compare needs two images\nusage: ${EMBED_USAGE}`);
      const [a, b] = [await largestFace(e, pos[0]), await largestFace(e, pos[1])];
      const v = verify(a.embedding, b.embedding, { model: e.model.name, threshold: numberFlag(args, 'threshold') });
      const l2 = squaredL2(a.embedding, b.embedding);
      if (json) console.log(toJson({ a: pos[0], b: pos[1], model: e.model.name, cosine: v.similarity, squaredL2: l2, threshold: v.threshold, same: v.same }));
      else console.log(`cosine similarity ${v.similarity.toFixed(4)} (squared L2 ${l2.toFixed(4)}), threshold ${v.threshold}: ${v.same ? 'same person' : 'different people'}`);
      return 0;
    }
    case 'index': {
      if (pos[0] !== 'add' || pos.length < 3) throw new ArgumentError(`usage: ${EMBED_USAGE}`);
      const label = args.flags.get('label');
      if (typeof label !== 'string') throw new ArgumentError('index add needs --label NAME');
      const file = pos[1];
      const existing = existsSync(file) ? FaceIndex.load(file) : null;
      if (existing && existing.model !== e.model.name) throw new ArgumentError(`${file} holds ${existing.model} embeddings, not ${e.model.name}`);
      // A bad image is reported and skipped; the others are still added.
      const faces = [];
      let failed = 0;
      for (const path of pos.slice(2)) {
        try {
          faces.push(await largestFace(e, path));
        } catch (err) {
          const message = userMessage(err);
          if (message === null) throw err;
          failed++;
          console.error(imageErrorLine(path, message));
        }
      }
      if (faces.length === 0) {
        console.error(`${file}: unchanged, none of the ${failed} images gave a face`);
        return 1;
      }
      const index = existing ?? new FaceIndex(e.model.name, faces[0].embedding.length);
      for (const face of faces) index.add(label, face.embedding);
      index.save(file);
      console.log(`${file}: ${index.size} embeddings${failed ? ` (${failed} image${failed === 1 ? '' : 's'} skipped)` : ''}`);
      return failed ? 1 : 0;
    }
    case 'search': {
      const file = args.flags.get('index');
      if (typeof file !== 'string' || pos.length !== 1) throw new ArgumentError(`usage: ${EMBED_USAGE}`);
      const index = FaceIndex.load(file);
      if (index.model !== e.model.name) throw new ArgumentError(`${file} holds ${index.model} embeddings; pass --model ${index.model}`);
      const face = await largestFace(e, pos[0]);
      const hits = index.query(face.embedding, numberFlag(args, 'k') ?? 5).map((h) => ({ ...h, same: h.similarity >= e.model.threshold }));
      if (json) console.log(toJson({ image: pos[0], hits }));
      else for (const h of hits) console.log(`${h.label.padEnd(24)} cosine ${h.similarity.toFixed(4)}${h.same ? '  (match)' : ''}`);
      return 0;
    }
    case 'align': {
      const dir = args.flags.get('out');
      if (typeof dir !== 'string' || pos.length === 0) throw new ArgumentError(`usage: ${EMBED_USAGE}`);
      makeOutputFolder(dir, '--out');
      // Inputs sharing a base name (photo.jpg from two folders) get distinct crop names.
      const bases = uniqueOutputNames(pos, '');
      let failed = 0;
      for (const [k, path] of pos.entries()) {
        try {
          const { faces } = await e.embed(path);
          faces.forEach((f, i) => Canvas.of(f.crop).savePng(join(dir, `${bases[k]}_${i}.png`)));
          console.log(`${path}: ${faces.length} aligned ${e.model.size}x${e.model.size} crop${faces.length === 1 ? '' : 's'} in ${dir}`);
        } catch (err) {
          const message = userMessage(err);
          if (message === null) throw err;
          failed++;
          console.error(imageErrorLine(path, message));
        }
      }
      return failed ? 1 : 0;
    }
    case 'eval-lfw':
      return evalLfw(args, e);
  }
  throw new ArgumentError(`unknown command ${command}`);
}

/** Resizes small images up (LFW's 150 px variants) before detection. */
/** The LFW protocol's upscaling of small crops (150 px to 250): PIL's bicubic, byte for byte. */
function upscale(img: RgbImage, size: number | undefined): RgbImage {
  if (!size || Math.max(img.width, img.height) >= size) return img;
  const s = size / Math.max(img.width, img.height);
  return resizeBicubic(img, Math.round(img.width * s), Math.round(img.height * s));
}

/** No face detected: fall back to the central square of the image, resized (no alignment). */
async function fallbackEmbedding(e: FaceEmbedder, img: RgbImage): Promise<Float32Array> {
  const side = Math.min(img.width, img.height);
  const s = e.model.size;
  return (await e.embedCrops([areaResize(img, { x: (img.width - side) >> 1, y: (img.height - side) >> 1, width: side, height: side }, s, s)]))[0];
}

async function evalLfw(args: ParsedArgs, e: FaceEmbedder): Promise<number> {
  const root = args.flags.get('root');
  const pairsFile = args.flags.get('pairs');
  if (typeof root !== 'string' || typeof pairsFile !== 'string') throw new ArgumentError(`eval-lfw needs --root and --pairs\nusage: ${EMBED_USAGE}`);
  const pairs = loadPairs(pairsFile, root);
  const size = numberFlag(args, 'upscale');
  const images = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];
  const embeddings = new Map<string, Float32Array>();
  const missing: string[] = [];
  const unreadable: string[] = [];
  let noFace = 0;
  const started = performance.now();
  for (const [i, path] of images.entries()) {
    if (!existsSync(path)) {
      missing.push(path);
      continue;
    }
    try {
      const img = upscale(toRgbImage(path), size);
      // The protocol's subject is the face nearest the centre (the largest can be a half-visible
      // neighbour at the border); faces across the border are aligned with zero fill.
      const { faces } = await e.embed(img, { selection: 'center' });
      if (faces.length) embeddings.set(path, faces[0].embedding);
      else {
        noFace++;
        embeddings.set(path, await fallbackEmbedding(e, img));
      }
    } catch (err) {
      // An unreadable image drops its pairs, like a missing one, and is named at the end.
      const message = userMessage(err);
      if (message === null) throw err;
      unreadable.push(message);
    }
    const done = i + 1;
    const eta = ((performance.now() - started) / done) * (images.length - done) / 1000;
    const bar = '#'.repeat(Math.round((done / images.length) * 30)).padEnd(30, '.');
    process.stderr.write(`\r[${bar}] ${done}/${images.length} images, eta ${eta.toFixed(0)} s`);
  }
  process.stderr.write('\n');
  for (const m of unreadable) process.stderr.write(`skipped: ${m}\n`);
  const usable = pairs.filter((p) => embeddings.has(p.a) && embeddings.has(p.b));
  if (usable.length === 0) throw new ArgumentError(`none of the ${pairs.length} pairs has both images under ${root}`);
  const scores = usable.map((p) => cosineSimilarity(embeddings.get(p.a)!, embeddings.get(p.b)!));
  const r = evaluatePairs(scores, usable, numberFlag(args, 'folds'));
  const report = { model: e.model.name, ...r, images: embeddings.size, noFaceDetected: noFace, missingImages: missing.length, unreadableImages: unreadable.length, skippedPairs: pairs.length - usable.length };
  if (args.flags.has('json')) console.log(toJson(report));
  else {
    console.log(`LFW (${e.model.name}): accuracy ${(r.accuracy * 100).toFixed(2)}% +- ${(r.std * 100).toFixed(2)} over ${r.folds} folds, ${r.pairs} pairs`);
    console.log(`  TAR ${(r.tarAtFar1e3 * 100).toFixed(2)}% at FAR 1e-3; mean threshold (cosine) ${r.threshold.toFixed(4)}`);
    console.log(`  ${noFace} of ${embeddings.size} images had no detected face (central crop used instead); ${missing.length} images missing, ${report.skippedPairs} pairs skipped`);
  }
  return 0;
}
