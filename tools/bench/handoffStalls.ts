// Detections of the example photo, one after another on a two-thread CPU backend, with each
// hand-off in turn: median and slowest time, and how many took over three times the median (the
// spin hand-off used to stall a detection now and then for 250-500 ms, see handoff.ts POSTED).
//   node --import tsx tools/bench/handoffStalls.ts [N=100]
import { fileURLToPath } from 'node:url';
import { toRgbImage } from '../../src/image/decode.ts';
import { FaceDetector } from '../../src/pipeline/mtcnn.ts';
import { CpuBackend } from '../../src/tensor/cpu/backend.ts';

const n = Number(process.argv[2] ?? 100);
const image = toRgbImage(fileURLToPath(new URL('../../examples/astronaut.jpg', import.meta.url)));
console.log(`${n} detections of examples/astronaut.jpg on 2 threads (after one warm-up), per hand-off`);
for (const handoff of ['message', 'spin', 'message', 'spin'] as const) {
  const backend = new CpuBackend({ threads: 2, handoff });
  const detector = new FaceDetector({ backend });
  await detector.detect(image);
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await detector.detect(image);
    ms.push(performance.now() - t0);
  }
  await backend.dispose();
  const sorted = [...ms].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1];
  const slow = ms.filter((t) => t > 3 * median).length;
  console.log(`  ${handoff.padEnd(8)} median ${median.toFixed(1).padStart(6)} ms  slowest ${sorted[sorted.length - 1].toFixed(1).padStart(6)} ms  over 3x the median: ${slow}`);
}
