// The PyTorch anchor of the end-to-end detection cases (issue #13): facenet-pytorch's MTCNN is not
// on the package registries, so the stand-in is tools/reference/mtcnn_cascade.py, the same cascade
// in the same float32 torch ops on the same weights (test/pytorch-cascade.test.ts holds it to
// facenet-pytorch's detections). Timed the way tsface's detect rows are: file bytes in memory,
// each run decodes (PIL) and detects, median of runs after a warm-up, at torch.set_num_threads(N).
//
// Standalone: node --import tsx tools/bench/pytorchAnchor.ts [--runs N]
// prints detect-multiface and detect-1920x1080 rows at 1 and 2 threads.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnchorResult } from './anchors.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../reference/mtcnn_cascade.py', import.meta.url));
const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));

/** Why the anchor cannot run here, or null when it can. Asked once per process. */
let missing: string | null | undefined;
function unavailable(): string | null {
  if (missing !== undefined) return missing;
  const r = spawnSync(PYTHON, ['-c', 'import torch, torchvision, PIL, numpy'], { encoding: 'utf8' });
  missing = r.error ? `${PYTHON} not runnable (${r.error.message})`
    : r.status !== 0 ? `torch/torchvision/PIL/numpy missing at ${PYTHON} (${r.stderr.trim().split('\n').pop()})` : null;
  return missing;
}

/** Median ms of `runs` end-to-end runs over `images` (all of them per run) at `threads` torch threads. */
export async function pytorchAnchor(images: string[], threads: number, runs: number): Promise<AnchorResult | string> {
  const why = unavailable();
  if (why) return why;
  const absent = images.find((p) => !existsSync(p));
  if (absent) return `${absent} is absent`;
  // One process per row, so thread count and warm-up are those of a fresh facenet-pytorch user;
  // start-up and weight loading are outside the timed runs, as tsface's detector is built once.
  const r = spawnSync(PYTHON, [SCRIPT, '--json', '--threads', String(threads), '--time', String(runs), ...images],
    { encoding: 'utf8', maxBuffer: 16 << 20, timeout: 30 * 60_000 });
  if (r.error || r.status !== 0) return `mtcnn_cascade.py failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`;
  const out = JSON.parse(r.stdout) as { torch: string; threads: number; ms: number };
  return { backend: 'pytorch', mode: `torch ${out.torch}`, threads, ms: out.ms };
}

/** multiface.jpg scaled to 1920x1080 by PIL (bicubic, JPEG quality 95): a full-HD photo with the
 * same six faces, written into `dir`; returns its path, or a skip string. */
export function upscaledMultiface(dir: string): string | { skip: string } {
  const src = `${SHARED}images/multiface.jpg`;
  if (!existsSync(src)) return { skip: `../shared/images/multiface.jpg is absent` };
  const why = unavailable();
  if (why) return { skip: why };
  const out = join(dir, 'multiface-1920x1080.jpg');
  const code = 'import sys; from PIL import Image; Image.open(sys.argv[1]).convert("RGB").resize((1920, 1080), Image.BICUBIC).save(sys.argv[2], quality=95)';
  const r = spawnSync(PYTHON, ['-c', code, src, out], { encoding: 'utf8' });
  if (r.status !== 0) return { skip: `PIL could not write ${out}: ${r.stderr.trim()}` };
  return out;
}

function row(name: string, r: AnchorResult | string): void {
  if (typeof r === 'string') console.log(`${name.padEnd(26)} anchor skipped: ${r}`);
  else console.log(`${name.padEnd(26)} ${`${r.backend}/${r.mode}`.padEnd(36)} threads ${r.threads}  ${r.ms.toFixed(2).padStart(9)} ms`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--runs');
  const runs = i > 0 ? Number(process.argv[i + 1]) : 0;
  const dir = mkdtempSync(join(tmpdir(), 'tsface-pytorch-anchor-'));
  try {
    const big = upscaledMultiface(dir);
    const cases: [string, string | { skip: string }, number][] = [
      ['detect-multiface', `${SHARED}images/multiface.jpg`, runs || 5],
      ['detect-1920x1080', big, runs || 3],
    ];
    for (const [name, image, n] of cases) {
      for (const threads of [1, 2]) row(name, typeof image === 'string' ? await pytorchAnchor([image], threads, n) : image.skip);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
