// tsface summary / inspect / crosscheck
import { DEFAULT_MAX_BYTES } from '../io/limits.ts';
import { readBoundedFile, readBoundedText } from '../io/readFile.ts';
import { makeOutputFolder } from './folders.ts';
import { toJson } from './output.ts';
import { join } from 'node:path';
import { crosscheck, formatCrosscheck, loadReference, nhwcToNchw } from '../inspect/crosscheck.ts';
import { featureGrid, probabilityHeatmap, stageBoxes } from '../inspect/pictures.ts';
import { formatSummary, summary } from '../inspect/summary.ts';
import { trace } from '../inspect/trace.ts';
import { checkNetName, declaredNet, loadedNet, summaryInput, type NetName } from '../nets/registry.ts';
import { cropRegion, square } from '../pipeline/boxes.ts';
import { alignFace } from '../pipeline/align.ts';
import { Canvas } from '../image/draw.ts';
import { MOBILEFACENET, NN4_SMALL2_V1 } from '../pipeline/embed.ts';
import { toRgbImage } from '../image/decode.ts';
import { FaceDetector, pyramidScales } from '../pipeline/mtcnn.ts';
import { areaResizeNormalized } from '../tensor/cpu/resample.ts';
import { ArgumentError } from '../errors.ts';
import { readNpy } from '../tensor/npy.ts';
import { Tensor } from '../tensor/tensor.ts';
import { numberFlag, parseArgs } from './args.ts';
import type { Runtime } from '../runtime.ts';

/** Each command's usage and the options its parser takes (the help test compares the two). */
export const INSPECT_COMMANDS = {
  summary: {
    usage: 'tsface summary <pnet|rnet|onet|nn2|nn4.small2.v1|mobilefacenet> [--by layer|block] [--json]',
    valued: new Set(['by']),
    boolean: new Set(['json']),
  },
  inspect: {
    usage: 'tsface inspect <net> --image FILE [--layer NAME] [--out DIR] [--scale S] [--weights FILE] [--json]',
    valued: new Set(['image', 'layer', 'out', 'scale', 'weights']),
    boolean: new Set(['json']),
  },
  crosscheck: {
    usage: `tsface crosscheck <net> --reference DIR|FILE [--input FILE] [--weights FILE] [--map FILE]
                    [--layout nchw|nhwc] [--atol A] [--rtol R] [--json]`,
    valued: new Set(['reference', 'input', 'weights', 'map', 'layout', 'atol', 'rtol']),
    boolean: new Set(['json']),
  },
} as const;

export const INSPECT_USAGE = Object.values(INSPECT_COMMANDS).map((c) => c.usage).join('\n  ');

export async function inspectCommand(command: string, argv: readonly string[], runtime: Runtime): Promise<number> {
  const spec = INSPECT_COMMANDS[command as keyof typeof INSPECT_COMMANDS];
  if (!spec) throw new ArgumentError(`unknown command ${command}`);
  const args = parseArgs(argv, spec.valued, spec.boolean);
  const json = args.flags.has('json');
  if (args.positionals.length !== 1) throw new ArgumentError(`usage:\n  ${INSPECT_USAGE}`);
  const name = checkNetName(args.positionals[0]);
  const weights = args.flags.get('weights') as string | undefined;

  if (command === 'summary') {
    const by = (args.flags.get('by') as 'layer' | 'block' | undefined) ?? (name === 'nn2' || name === 'nn4.small2.v1' ? 'block' : 'layer');
    if (by !== 'layer' && by !== 'block') throw new ArgumentError('--by must be layer or block');
    const s = summary(declaredNet(name), summaryInput(name), by);
    if (json) console.log(toJson({ net: name, input: s.input, layers: s.layers.map((l) => ({ name: l.name, op: l.op, output: l.output, params: l.params, macs: l.macs })), total: s.total }));
    else console.log(formatSummary({ ...s, net: name }));
    return 0;
  }

  if (command === 'crosscheck') {
    const refPath = args.flags.get('reference');
    if (typeof refPath !== 'string') throw new ArgumentError('crosscheck needs --reference DIR|FILE');
    const layout = (args.flags.get('layout') as 'nchw' | 'nhwc' | undefined) ?? 'nchw';
    const ref = loadReference(refPath, name, layout);
    const inputFile = args.flags.get('input') as string | undefined;
    let input = inputFile ? readNpy(readBoundedFile(inputFile, DEFAULT_MAX_BYTES.array, (reason) => new ArgumentError(`--input ${inputFile}: ${reason}`)), inputFile) : undefined;
    if (input && layout === 'nhwc') input = nhwcToNchw(input);
    const mapFile = args.flags.get('map') as string | undefined;
    const nameMap = mapFile ? readNameMap(mapFile) : undefined;
    const report = await crosscheck(loadedNet(name, weights), name, runtime.backend, ref, { input, atol: numberFlag(args, 'atol'), rtol: numberFlag(args, 'rtol'), nameMap });
    console.log(json ? toJson(report) : formatCrosscheck(report));
    return report.ok ? 0 : 1;
  }

  // inspect
  const imagePath = args.flags.get('image');
  if (typeof imagePath !== 'string') throw new ArgumentError('inspect needs --image FILE');
  const img = toRgbImage(imagePath);
  const out = args.flags.get('out') as string | undefined;
  if (out) makeOutputFolder(out, '--out');
  const input = await inspectInput(name, img, runtime, numberFlag(args, 'scale'), out);
  const net = loadedNet(name, weights);
  const entries = await trace(net, input, runtime.backend, { tensors: Boolean(out) });
  const only = args.flags.get('layer') as string | undefined;
  const shown = only ? entries.filter((e) => e.name === only) : entries;
  if (only && shown.length === 0) throw new ArgumentError(`no layer '${only}' in ${name} (layers: ${entries.map((e) => e.name).join(', ')})`);
  if (json) console.log(toJson({ net: name, input: input.shape.slice(1), layers: shown.map(({ tensor: _, ...e }) => e) }));
  else {
    console.log(`${name} on ${imagePath}: input ${input.shape.slice(1).join('x')}`);
    for (const e of shown) {
      console.log(`  ${e.name.padEnd(34)} ${e.op.padEnd(11)} ${e.shape.join('x').padEnd(12)} min ${e.min.toFixed(4).padStart(9)} max ${e.max.toFixed(4).padStart(9)} mean ${e.mean.toFixed(4).padStart(8)} std ${e.std.toFixed(4).padStart(8)} zeros ${(e.zeros * 100).toFixed(1).padStart(5)}%`);
    }
  }
  if (out) {
    const pictured = only ? shown : shown.filter((e) => e.tensor!.rank === 4 && e.tensor!.shape[2] > 1 && !e.name.includes('/')).slice(0, 24);
    for (const e of pictured) featureGrid(e.tensor!).savePng(join(out, `${e.name.replaceAll('/', '_')}.png`));
    if (!json) console.log(`wrote ${pictured.length} feature-map pictures to ${out}`);
  }
  return 0;
}

/** The net's input for a photo, as the pipeline would feed it; for P-Net also the cascade pictures. */
async function inspectInput(name: NetName, img: ReturnType<typeof toRgbImage>, runtime: Runtime, scale: number | undefined, out: string | undefined): Promise<Tensor> {
  if (name === 'pnet') {
    const scales = pyramidScales(img.width, img.height, 20, 0.709);
    if (scales.length === 0) throw new ArgumentError('image smaller than 12x12');
    const s = scale ?? scales[0];
    const h = Math.trunc(img.height * s + 1), w = Math.trunc(img.width * s + 1);
    const x = new Tensor([1, 3, h, w]);
    areaResizeNormalized(img, { x: 0, y: 0, width: img.width, height: img.height }, h, w, x.data);
    if (out) {
      const detector = new FaceDetector({ backend: runtime.backend });
      const { report } = await detector.detect(img, { keepStages: true });
      const st = report.stages!;
      st.probMaps.forEach((m, i) => probabilityHeatmap(img, m).savePng(join(out, `pnet_heatmap_scale${i}_${m.scale.toFixed(4)}.png`)));
      for (const stage of ['pnet', 'pnetNms', 'rnet', 'onet'] as const) stageBoxes(img, st[stage]).savePng(join(out, `cascade_${stage}.png`));
    }
    return x;
  }
  if (name === 'rnet' || name === 'onet') {
    const detector = new FaceDetector({ backend: runtime.backend });
    const { faces } = await detector.detect(img, { selection: 'largest' });
    if (faces.length === 0) throw new ArgumentError('no face found to crop for the net');
    const [x1, y1, x2, y2] = faces[0].box;
    const b = { x1, y1, x2, y2, score: 1 };
    square(b);
    const region = cropRegion(b, img.width, img.height)!;
    const size = name === 'rnet' ? 24 : 48;
    const x = new Tensor([1, 3, size, size]);
    areaResizeNormalized(img, region, size, size, x.data);
    return x;
  }
  if (name === 'nn2') throw new ArgumentError('inspect supports pnet, rnet, onet, mobilefacenet and nn4.small2.v1 (nn2 has no weights)');
  // Embedding nets see the face as the pipeline aligns it, on the model's own template.
  const spec = name === 'mobilefacenet' ? MOBILEFACENET : NN4_SMALL2_V1;
  const detector = new FaceDetector({ backend: runtime.backend });
  const { faces } = await detector.detect(img, { selection: 'largest' });
  if (faces.length === 0) throw new ArgumentError('no face found to align');
  const crop = alignFace(img, faces[0].landmarks, { size: spec.size, template: spec.template }).crop;
  if (out) Canvas.of(crop).savePng(join(out, 'aligned_input.png'));
  const x = new Tensor([1, 3, spec.size, spec.size]);
  for (let p = 0; p < spec.size * spec.size; p++) for (let c = 0; c < 3; c++) x.data[c * spec.size * spec.size + p] = spec.normalize(crop.data[p * 3 + c]);
  return x;
}

/** --map FILE: a JSON object from reference layer names to tsface's. */
function readNameMap(file: string): Record<string, string> {
  const fail = (reason: string) => new ArgumentError(`--map ${file}: ${reason}`);
  let map: unknown;
  try {
    map = JSON.parse(readBoundedText(file, DEFAULT_MAX_BYTES.text, fail));
  } catch (e) {
    if (e instanceof ArgumentError) throw e;
    throw fail(`not valid JSON (${(e as Error).message})`);
  }
  if (typeof map !== 'object' || map === null || Array.isArray(map) || !Object.values(map).every((v) => typeof v === 'string')) {
    throw fail('expected a JSON object of layer name to layer name');
  }
  return map as Record<string, string>;
}
