// One measurement for `bench:soak -- --peak`: in a fresh process, decode a PNG or JPEG photo and detect
// faces in it, then print the peak resident memory above the process's baseline (as JSON), and the
// high-water mark at the end of each stage: decode, P-Net over the pyramid (when R-Net is first
// called), R-Net and O-Net (the end). TSFACE_THREADS sets the CPU backend's threads.
//   node --import tsx tools/bench/peakMemory.ts photo.png (or .jpg)
import { toRgbImage } from '../../src/image/decode.ts';
import { FaceDetector, pyramidScales } from '../../src/pipeline/mtcnn.ts';

const file = process.argv[2];
const detector = new FaceDetector();
// Baseline: runtime, weights and code loaded, one VGA detection done: kernels warmed and the
// CPU backend's worker thread started (its isolate is ~40-55 MB whatever the photo's size; a
// 64x64 warm-up never starts it, and the first large detection then counted it per pixel).
await detector.detect({ width: 640, height: 480, data: new Uint8Array(640 * 480 * 3) });
const mb = (kb: number) => kb / 1024;
// Current resident memory, not the high-water mark: loading may have peaked above it already.
const baseline = process.memoryUsage.rss() / 2 ** 20;
const t0 = performance.now();
// The measurement opts out of the default pixel limit to show what larger photos would cost.
const limits = { maxPixels: 1e9 };
const img = toRgbImage(file, limits);
const decoded = mb(process.resourceUsage().maxRSS);
const tDecode = performance.now() - t0;
// The high-water mark once the pyramid and P-Net are done: taken as R-Net's first batch starts.
let afterPnet = NaN;
const rnet = detector.nets.rnet;
const rnetForward = rnet.forward.bind(rnet);
rnet.forward = (...a: Parameters<typeof rnet.forward>) => {
  if (Number.isNaN(afterPnet)) afterPnet = mb(process.resourceUsage().maxRSS);
  return rnetForward(...a);
};
const d = await detector.detect(img, limits);
const peak = mb(process.resourceUsage().maxRSS);
const mp = (img.width * img.height) / 1e6;
// Where the memory goes: P-Net's activations at the first (largest) pyramid scale.
const scale = pyramidScales(img.width, img.height, 20, 0.709)[0];
const [h, w] = [Math.trunc(img.height * scale + 1), Math.trunc(img.width * scale + 1)];
const layers = detector.nets.pnet.describe([3, h, w]).map((l) => ({ layer: l.name, mb: (l.output.reduce((a, b) => a * b, 1) * 4) / 2 ** 20 }));
console.log(JSON.stringify({
  width: img.width, height: img.height, megapixels: mp, faces: d.faces.length,
  threads: detector.backend.describe().threads ?? 1,
  baselineMb: baseline, afterDecodeMb: decoded, afterPnetMb: Number.isNaN(afterPnet) ? peak : afterPnet, peakMb: peak,
  bytesPerPixel: ((peak - baseline) * 2 ** 20) / (img.width * img.height),
  decodeS: tDecode / 1000, detectS: (performance.now() - t0 - tDecode) / 1000,
  pyramidMs: d.report.ms.pyramid, pnetMs: d.report.ms.pnet,
  firstScale: { scale, input: `${w}x${h}`, inputMb: (3 * w * h * 4) / 2 ** 20, layers },
}));
