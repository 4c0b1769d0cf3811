// `tsface cluster`: the embedded faces of a scan grouped by person, with contact sheets to check.
import { renameSync, writeFileSync } from 'node:fs';
import { CLUSTER_METHODS, clusterFaces, type ClusterMethod } from '../collection/cluster.ts';
import { readEmbeddedFaces, type EmbeddedFaceRef } from '../collection/embeddedFaces.ts';
import { writeSheet } from '../collection/sheet.ts';
import { embeddingModel } from '../pipeline/embed.ts';
import { ArgumentError } from '../errors.ts';
import { numberFlag, parseArgs } from './args.ts';

export const CLUSTER_USAGE = `tsface cluster faces.jsonl --out clusters.json [--threshold T] [--method ${CLUSTER_METHODS.join('|')}]
              [--seed N] [--sheet DIR]   (faces that match no other are listed in "unclustered")`;

export const CLUSTER_FLAGS = { valued: new Set(['out', 'threshold', 'method', 'seed', 'sheet']), boolean: new Set<string>() };

const member = (f: EmbeddedFaceRef) => ({ image: f.image, face: f.face, box: f.box });

export async function clusterCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, CLUSTER_FLAGS.valued, CLUSTER_FLAGS.boolean);
  if (args.positionals.length !== 1) throw new ArgumentError(`give one faces.jsonl\nusage: ${CLUSTER_USAGE}`);
  const out = args.flags.get('out');
  if (typeof out !== 'string') throw new ArgumentError(`--out FILE is required\nusage: ${CLUSTER_USAGE}`);
  const method = (args.flags.get('method') ?? 'chinese-whispers') as ClusterMethod;
  const seed = numberFlag(args, 'seed') ?? 0;
  const read = readEmbeddedFaces(args.positionals[0]);
  if (read.faces.length === 0) throw new ArgumentError(`${args.positionals[0]} holds no embedded faces (scan with --embed)`);
  // The model's own verification threshold unless one is given: the same-person decision of `compare`.
  const threshold = numberFlag(args, 'threshold') ?? embeddingModel(read.model ?? 'mobilefacenet').threshold;
  const grouping = clusterFaces(read.faces.map((f) => f.embedding), { threshold, method, seed });
  const result = {
    method,
    threshold,
    seed,
    model: read.model,
    clusters: grouping.clusters.map((members, id) => ({ id, members: members.map((i) => member(read.faces[i])) })),
    unclustered: grouping.alone.map((i) => member(read.faces[i])),
  };
  const tmp = `${out}.partial-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(result, null, 1)}\n`);
  renameSync(tmp, out);
  const sheetDir = args.flags.get('sheet');
  if (typeof sheetDir === 'string') {
    grouping.clusters.forEach((members, id) => {
      writeSheet(sheetDir, `cluster-${String(id).padStart(4, '0')}`, `CLUSTER ${id}: ${members.length} FACES`, members.map((i) => read.faces[i]));
    });
    if (grouping.alone.length) writeSheet(sheetDir, 'unclustered', `UNCLUSTERED: ${grouping.alone.length} FACES`, grouping.alone.map((i) => read.faces[i]));
  }
  process.stderr.write(`tsface cluster: ${read.faces.length} faces -> ${grouping.clusters.length} clusters, ${grouping.alone.length} unclustered (${method}, threshold ${threshold}) -> ${out}${typeof sheetDir === 'string' ? `, sheets in ${sheetDir}` : ''}\n`);
  return 0;
}
