// `tsface index build`: every embedded face of a scan in one searchable index file, and
// `tsface index search`: an image's largest face against it, exact top k on the SIMD kernel.
import { CollectionIndex } from '../collection/searchIndex.ts';
import { FaceEmbedder } from '../pipeline/embed.ts';
import type { Runtime } from '../runtime.ts';
import { ArgumentError } from '../errors.ts';
import { numberFlag, parseArgs } from './args.ts';

export const INDEX_BUILD_COMMANDS = {
  'index build': { usage: 'tsface index build faces.jsonl --out index.safetensors', valued: new Set(['out']), boolean: new Set<string>() },
  'index search': {
    usage: 'tsface index search index.safetensors <image> [--k N] [--json]   (the same file format as `tsface search` reads)',
    valued: new Set(['k']),
    boolean: new Set(['json']),
  },
} as const;

export const INDEX_BUILD_USAGE = Object.values(INDEX_BUILD_COMMANDS).map((c) => c.usage).join('\n  ');

export async function indexBuildCommand(argv: readonly string[], runtime: Runtime): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'build') {
    const { valued, boolean } = INDEX_BUILD_COMMANDS['index build'];
    const args = parseArgs(rest, valued, boolean);
    const out = args.flags.get('out');
    if (args.positionals.length !== 1 || typeof out !== 'string') throw new ArgumentError(`usage: ${INDEX_BUILD_USAGE}`);
    const t = performance.now();
    const index = CollectionIndex.fromJsonl(args.positionals[0]);
    index.save(out);
    process.stderr.write(`tsface index build: ${index.size} faces, ${index.dimension}-d ${index.model} -> ${out} (${((performance.now() - t) / 1000).toFixed(1)} s)\n`);
    return 0;
  }
  const args = parseArgs(rest, INDEX_BUILD_COMMANDS['index search'].valued, INDEX_BUILD_COMMANDS['index search'].boolean);
  if (args.positionals.length !== 2) throw new ArgumentError(`usage: ${INDEX_BUILD_USAGE}`);
  const [file, image] = args.positionals;
  const index = CollectionIndex.load(file);
  const embedder = new FaceEmbedder({ backend: runtime.backend, model: index.model });
  const { faces } = await embedder.embed(image, { selection: 'largest' });
  if (faces.length === 0) throw new ArgumentError(`${image}: no face found`);
  const t = performance.now();
  const hits = index.search(faces[0].embedding, numberFlag(args, 'k') ?? 5).map((h) => ({ ...h, same: h.similarity >= embedder.model.threshold }));
  const ms = performance.now() - t;
  if (args.flags.has('json')) console.log(JSON.stringify({ image, faces: index.size, ms, hits }));
  else {
    for (const h of hits) console.log(`${h.label.padEnd(40)} cosine ${h.similarity.toFixed(4)}${h.same ? '  (match)' : ''}`);
    process.stderr.write(`searched ${index.size} faces in ${ms.toFixed(1)} ms${index.simd ? ' (SIMD)' : ''}\n`);
  }
  return 0;
}
