import { join } from 'node:path';
import { SELECTIONS } from '../collection/imageScanner.ts';
import { drawFaces } from '../image/draw.ts';
import { toRgbImage } from '../image/decode.ts';
import { FaceDetector, type DetectOptions, type Detection, type FaceSelection } from '../pipeline/mtcnn.ts';
import { ArgumentError } from '../errors.ts';
import { numberFlag, parseArgs } from './args.ts';
import { makeOutputFolder } from './folders.ts';
import { imageErrorLine, toJson, uniqueOutputNames, userMessage } from './output.ts';
import type { Runtime } from '../runtime.ts';

export const DETECT_USAGE = `tsface detect <image...> [--json] [--min-face N] [--factor F] [--thresholds a,b,c]
              [--select ${SELECTIONS.join('|')}] [--max-faces N] [--max-pixels N] [--draw DIR] [--weights FILE] [--explain]`;

export const DETECT_FLAGS = {
  valued: new Set(['min-face', 'factor', 'thresholds', 'draw', 'select', 'max-faces', 'max-pixels', 'weights']),
  boolean: new Set(['json', 'explain']),
};

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

function explain(d: Detection): string {
  const c = d.report.counts;
  const ms = d.report.ms;
  return [
    `  pyramid: ${d.report.scales.length} scales (${d.report.scales.map((s) => s.toFixed(4)).join(', ')})`,
    `  P-Net:   ${c.pnetCandidates} cells >= threshold -> ${c.afterScaleNms} after NMS 0.5 per scale -> ${c.afterPyramidNms} after NMS 0.7 across scales`,
    `  R-Net:   ${c.rnetInput} crops -> ${c.rnetPassed} above threshold -> ${c.afterRnetNms} after NMS 0.7`,
    `  O-Net:   ${c.onetInput} crops -> ${c.onetPassed} above threshold -> ${c.faces} after 'Min' NMS 0.7 and selection`,
    `  time ms: decode ${ms.decode.toFixed(1)}, pyramid ${ms.pyramid.toFixed(1)}, P-Net ${ms.pnet.toFixed(1)}, R-Net ${ms.rnet.toFixed(1)}, O-Net ${ms.onet.toFixed(1)}, post ${ms.post.toFixed(1)}`,
  ].join('\n');
}

export async function detectCommand(argv: readonly string[], runtime: Runtime): Promise<number> {
  const args = parseArgs(argv, DETECT_FLAGS.valued, DETECT_FLAGS.boolean);
  if (args.positionals.length === 0) throw new ArgumentError(`no image given\nusage: ${DETECT_USAGE}`);
  const thresholds = args.flags.get('thresholds');
  const options: DetectOptions = {
    minFaceSize: numberFlag(args, 'min-face'),
    scaleFactor: numberFlag(args, 'factor'),
    maxFaces: numberFlag(args, 'max-faces'),
    maxPixels: numberFlag(args, 'max-pixels'),
    selection: args.flags.get('select') as FaceSelection | undefined,
    thresholds: typeof thresholds === 'string' ? (thresholds.split(',').map(Number) as unknown as [number, number, number]) : undefined,
  };
  const drawDir = args.flags.get('draw');
  if (typeof drawDir === 'string') makeOutputFolder(drawDir, '--draw');
  const json = args.flags.has('json');
  const detector = new FaceDetector({ backend: runtime.backend, weights: args.flags.get('weights') as string | undefined });
  const results: object[] = [];
  let failed = 0;
  const paths = args.positionals;
  const drawNames = uniqueOutputNames(paths, '.png');
  for (const [i, path] of paths.entries()) {
    try {
      const image = toRgbImage(path, options);
      const d = await detector.detect(image, options);
      // Drawn before the result is recorded, so a failed drawing is this image's one error entry.
      if (typeof drawDir === 'string') drawFaces(image, d.faces).savePng(join(drawDir, drawNames[i]));
      results.push({ image: path, width: d.width, height: d.height, faces: d.faces });
      if (paths.length > 1) process.stderr.write(`[${i + 1}/${paths.length}] ${path}: ${d.faces.length} face${d.faces.length === 1 ? '' : 's'}\n`);
      if (!json) {
        console.log(`${path} (${d.width}x${d.height}): ${d.faces.length} face${d.faces.length === 1 ? '' : 's'}`);
        for (const f of d.faces) {
          console.log(`  box [${f.box.map(round).join(', ')}] score ${f.score.toFixed(5)} landmarks ${JSON.stringify(f.landmarks.map(([x, y]) => [round(x), round(y)]))}`);
        }
      }
      if (args.flags.has('explain')) console.error(explain(d));
    } catch (e) {
      const message = userMessage(e);
      if (message === null) throw e;
      failed++;
      results.push({ image: path, error: message });
      if (paths.length > 1) process.stderr.write(`[${i + 1}/${paths.length}] ${imageErrorLine(path, message)}\n`);
      if (!json) console.error(imageErrorLine(path, message));
    }
  }
  if (json) process.stdout.write(`${toJson(results)}\n`);
  return failed > 0 ? 1 : 0;
}
