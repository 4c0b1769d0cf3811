// `tsface cluster`: the embedded faces of a scan grouped by person, with contact sheets to check.
import { renameSync, writeFileSync } from 'node:fs';
import { AGGLOMERATIVE_MAX_FACES, CLUSTER_METHODS, CLUSTER_THRESHOLDS, clusterFaces, clusterThreshold, type ClusterMethod } from '../collection/cluster.ts';
import { readEmbeddedFaces, type EmbeddedFaceRef } from '../collection/embeddedFaces.ts';
import { writeSheet } from '../collection/sheet.ts';
import { embeddingModel } from '../pipeline/embed.ts';
import { ArgumentError } from '../errors.ts';
import { numberFlag, parseArgs } from './args.ts';

export const CLUSTER_USAGE = `tsface cluster faces.jsonl --out clusters.json [--threshold T] [--method ${CLUSTER_METHODS.join('|')}]
              [--seed N] [--sheet DIR]   (faces that match no other are listed in "unclustered")`;

const calibrated = Object.entries(CLUSTER_THRESHOLDS)
  .map(([model, t]) => `${model}: ${CLUSTER_METHODS.map((m) => `${m} ${t[m]}`).join(', ')}`)
  .join('; ');

export const CLUSTER_HELP = `${CLUSTER_USAGE}

Groups the faces of a scan made with embeddings (tsface scan) by person, and writes the groups
and the faces that match no other ("unclustered") to --out as JSON.

  --method M      chinese-whispers (default; any number of faces) or agglomerative (average
                  linkage, an n x n matrix: up to ${AGGLOMERATIVE_MAX_FACES} faces)
  --threshold T   cosine similarity at which faces link. Default: the clustering threshold
                  calibrated for the scan's model and the method on LFW people and checked on
                  others (tools/cluster/calibrate.ts), stricter than the model's verification
                  threshold because clustering chains pairs:
                    ${calibrated}
                  a model without one falls back to its verification threshold, with a warning.
                  Higher splits people into more clusters, lower merges people.
  --seed N        chinese-whispers' visiting order (default 0): same input and seed, same clusters
  --sheet DIR     a contact sheet (PNG) per cluster, and one of the unclustered faces
`;

export const CLUSTER_FLAGS = { valued: new Set(['out', 'threshold', 'method', 'seed', 'sheet']), boolean: new Set<string>() };

const member = (f: EmbeddedFaceRef) => ({ image: f.image, face: f.face, box: f.box });

export async function clusterCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, CLUSTER_FLAGS.valued, CLUSTER_FLAGS.boolean);
  if (args.positionals.length !== 1) throw new ArgumentError(`give one faces.jsonl\nusage: ${CLUSTER_USAGE}`);
  const out = args.flags.get('out');
  if (typeof out !== 'string') throw new ArgumentError(`--out FILE is required\nusage: ${CLUSTER_USAGE}`);
  const method = (args.flags.get('method') ?? 'chinese-whispers') as ClusterMethod;
  if (!CLUSTER_METHODS.includes(method)) throw new ArgumentError(`--method must be one of ${CLUSTER_METHODS.join(', ')}, got '${method}'`);
  const seed = numberFlag(args, 'seed') ?? 0;
  const given = numberFlag(args, 'threshold');
  const read = readEmbeddedFaces(args.positionals[0]);
  if (read.faces.length === 0) throw new ArgumentError(`${args.positionals[0]} holds no embedded faces (scan with --embed)`);
  const model = read.model ?? 'mobilefacenet';
  // Not the verification threshold of `compare`: chaining pairs at it merges people (see CLUSTER_THRESHOLDS).
  const threshold = given ?? clusterThreshold(model, method) ?? embeddingModel(model).threshold;
  if (given === undefined && clusterThreshold(model, method) === null) {
    process.stderr.write(`tsface cluster: warning: no clustering threshold is calibrated for ${model}; using its verification threshold ${threshold}, which tends to merge people (pass --threshold)\n`);
  }
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
  process.stderr.write(`tsface cluster: ${read.faces.length} faces -> ${grouping.clusters.length} clusters, ${grouping.alone.length} unclustered (${method}, threshold ${threshold}${given === undefined ? ', the default' : ''}) -> ${out}${typeof sheetDir === 'string' ? `, sheets in ${sheetDir}` : ''}\n`);
  return 0;
}
