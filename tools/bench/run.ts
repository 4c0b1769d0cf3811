// tsface benchmark: prints a table; `--json FILE` also writes the rows as
// [{case, backend, mode, threads, ms, gflops}]. Speed is compared as ratios within one run.
//   npm run bench [-- --json FILE] [--quick]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NN2, Nn4Small2 } from '../../src/nets/facenet.ts';
import type { Net } from '../../src/nets/net.ts';
import { loadMobileFaceNet, loadMtcnn } from '../../src/nets/weights.ts';
import { toRgbImage, type RgbImage } from '../../src/pipeline/image.ts';
import { FaceDetector } from '../../src/pipeline/mtcnn.ts';
import { CpuBackend } from '../../src/tensor/cpu/backend.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

interface Row {
  case: string;
  backend: string;
  mode: string;
  threads: number;
  ms: number;
  gflops: number | null;
}

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : null;
const quick = args.includes('--quick');
const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));
const rows: Row[] = [];

async function median(fn: () => Promise<unknown>, runs: number, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function random(shape: number[], seed: number): Tensor {
  const t = new Tensor(shape);
  let s = seed >>> 0;
  for (let i = 0; i < t.size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    t.data[i] = s / 2 ** 32 - 0.5;
  }
  return t;
}

function record(row: Row, extra = ''): void {
  rows.push(row);
  const gf = row.gflops === null ? '' : `${row.gflops.toFixed(2)} GFLOP/s`;
  console.log(`${row.case.padEnd(30)} ${`${row.backend}/${row.mode}`.padEnd(16)} threads ${row.threads}  ${row.ms.toFixed(2).padStart(9)} ms  ${gf.padStart(16)}  ${extra}`);
}

async function convCase(name: string, inShape: number[], outC: number, k: number, pad: number, runs: number): Promise<void> {
  const x = random(inShape, 1);
  const w = random([outC, inShape[1], k, k], 2);
  const b = random([outC], 3);
  const outH = inShape[2] + 2 * pad - k + 1;
  const outW = inShape[3] + 2 * pad - k + 1;
  const flops = 2 * outC * outH * outW * inShape[1] * k * k;
  for (const threads of [1, 2]) {
    const backend = new CpuBackend({ threads });
    const ms = await median(() => backend.conv2d(x, w, b, { padding: pad }), runs);
    record({ case: name, backend: 'cpu', mode: 'typescript', threads, ms, gflops: flops / ms / 1e6 }, `(${(flops / 1e6).toFixed(1)} MFLOP)`);
    await backend.dispose();
  }
}

/** Seeded weights for nets whose real weights are not bundled (speed does not depend on values). */
function seeded(net: Net): Net {
  const tensors = new Map(net.expectedTensors().map((e, k) => [e.name, random([...e.shape], 100 + k)]));
  for (const [name, t] of tensors) if (name.endsWith('.variance')) t.data.forEach((v, i) => (t.data[i] = Math.abs(v) + 0.5));
  return net.load(tensors, 'seeded');
}

async function netCase(name: string, net: Net, input: number[], runs: number): Promise<void> {
  const x = random(input, 7);
  const macs = net.describe(input.slice(1)).reduce((s, r) => s + r.macs, 0) * input[0];
  for (const threads of [1, 2]) {
    const backend = new CpuBackend({ threads });
    const ms = await median(() => net.forward(backend, x), runs, 1);
    record({ case: name, backend: 'cpu', mode: 'typescript', threads, ms, gflops: (2 * macs) / ms / 1e6 }, `(${(ms / input[0]).toFixed(2)} ms per item, ${(macs / 1e6).toFixed(0)}M MACs)`);
    await backend.dispose();
  }
}

async function detectCase(name: string, image: RgbImage, encoded: Uint8Array | null, runs: number): Promise<void> {
  for (const threads of [1, 2]) {
    const detector = new FaceDetector({ backend: new CpuBackend({ threads }) });
    let last = await detector.detect(image);
    const ms = await median(async () => (last = await detector.detect(encoded ?? image)), runs, 1);
    const s = last.report.ms;
    record({ case: name, backend: 'cpu', mode: 'typescript', threads, ms, gflops: null },
      `${last.faces.length} faces; decode ${s.decode.toFixed(0)}, pyramid ${s.pyramid.toFixed(0)}, P-Net ${s.pnet.toFixed(0)}, R-Net ${s.rnet.toFixed(0)}, O-Net ${s.onet.toFixed(0)}, post ${s.post.toFixed(0)} ms (last run)`);
    await detector.backend.dispose();
  }
}

console.log(`tsface benchmark: median of runs, ${new Date().toISOString()}, node ${process.version}`);
await convCase('conv3x3-16-32-108x192', [1, 16, 108, 192], 32, 3, 1, quick ? 5 : 15);
await convCase('pnet-conv3-16-32-237x317', [1, 16, 237, 317], 32, 3, 0, quick ? 3 : 9);

const mtcnn = loadMtcnn();
await netCase('pnet-480x640', mtcnn.pnet, [1, 3, 480, 640], quick ? 2 : 5);
await netCase('rnet-b256', mtcnn.rnet, [256, 3, 24, 24], quick ? 2 : 5);
await netCase('onet-b64', mtcnn.onet, [64, 3, 48, 48], quick ? 2 : 5);
const nn4 = seeded(Nn4Small2({ batchNorm: false }));
await netCase('nn4small2-b1', nn4, [1, 3, 96, 96], quick ? 3 : 10);
await netCase('nn4small2-b32', nn4, [32, 3, 96, 96], quick ? 1 : 3);
const mfn = loadMobileFaceNet();
await netCase('mobilefacenet-b1', mfn, [1, 3, 112, 112], quick ? 3 : 10);
await netCase('mobilefacenet-b32', mfn, [32, 3, 112, 112], quick ? 1 : 3);
if (!quick) await netCase('nn2-b1', seeded(NN2()), [1, 3, 224, 224], 3);

if (existsSync(`${SHARED}images/multiface.jpg`)) {
  const bytes = readFileSync(`${SHARED}images/multiface.jpg`);
  await detectCase('detect-multiface', toRgbImage(bytes), bytes, quick ? 2 : 5);
  if (quick) {
    if (jsonFile) writeFileSync(jsonFile, `${JSON.stringify(rows, null, 1)}\n`);
    process.exit(0);
  }
  const big = toRgbImage(`${SHARED}images/celebs/shea_whigham.jpg`);
  const crop = new Uint8Array(1920 * 1080 * 3);
  for (let y = 0; y < 1080; y++) crop.set(big.data.subarray((y * big.width + 64) * 3, (y * big.width + 64 + 1920) * 3), y * 1920 * 3);
  await detectCase('detect-1920x1080', { width: 1920, height: 1080, data: crop }, null, quick ? 1 : 3);
} else {
  console.warn('!!! ../shared/images is absent: SKIPPING the detect cases !!!');
}
const example = fileURLToPath(new URL('../../examples/astronaut.jpg', import.meta.url));
await detectCase('detect-example-512x512', toRgbImage(example), readFileSync(example), quick ? 2 : 5);

if (jsonFile) {
  writeFileSync(jsonFile, `${JSON.stringify(rows, null, 1)}\n`);
  console.log(`wrote ${rows.length} rows to ${jsonFile}`);
}
