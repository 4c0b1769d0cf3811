// One case of `tools/bench/bombs.ts`, alone in a fresh process so that its peak resident memory
// (the process's high-water mark) belongs to this input and nothing else. It goes through the
// public API the way a user would, at default settings, and prints one JSON line:
//   {"outcome": "refused" | "completed" | "crashed", "errorClass", "message", "ms", "setupMs", "maxRssMb", "detail"}
// "refused" is a TsfaceError (the typed failure the library promises); any other throw is "crashed".
// `ms` times only the call that meets the hostile input; setup (loading a detector that the case
// does not attack) is reported apart, so a 1-second budget is not spent on loading MTCNN.
//   node --import tsx tools/bench/bombCase.ts detect IMAGE
//   node --import tsx tools/bench/bombCase.ts npz FILE.npz
//   node --import tsx tools/bench/bombCase.ts embed WEIGHTS.safetensors IMAGE
import { FaceDetector, FaceEmbedder, NpyError, readNpz, TsfaceError } from '../../src/index.ts';
import { DEFAULT_MAX_BYTES } from '../../src/io/limits.ts';
import { readBoundedFile } from '../../src/io/readFile.ts';

interface Result {
  outcome: 'refused' | 'completed' | 'crashed';
  errorClass?: string;
  message?: string;
  ms: number;
  setupMs: number;
  maxRssMb: number;
  detail?: Record<string, unknown>;
}

const maxRssMb = () => process.resourceUsage().maxRSS / 1024;

function report(r: Omit<Result, 'maxRssMb'>): never {
  process.stdout.write(JSON.stringify({ ...r, maxRssMb: maxRssMb() }) + '\n');
  // Exit at once: a backend's worker threads must not keep the process (and its timer) alive.
  process.exit(0);
}

function failure(e: unknown, ms: number, setupMs: number): Omit<Result, 'maxRssMb'> {
  const err = e as Error;
  return {
    outcome: e instanceof TsfaceError ? 'refused' : 'crashed',
    errorClass: err?.constructor?.name ?? typeof e,
    message: String(err?.message ?? e),
    ms, setupMs,
    detail: e instanceof TsfaceError ? undefined : { stack: String(err?.stack ?? '').split('\n').slice(0, 6).join('\n') },
  };
}

let setupMs = 0;
let started = performance.now();
// A throw that escapes the awaited call (a worker thread, a stray promise) is still a crash of this case.
process.on('uncaughtException', (e) => report(failure(e, performance.now() - started, setupMs)));
process.on('unhandledRejection', (e) => report(failure(e, performance.now() - started, setupMs)));

const [kind, ...args] = process.argv.slice(2);

async function run(): Promise<Record<string, unknown>> {
  switch (kind) {
    case 'detect': {
      const t = performance.now();
      const detector = await FaceDetector.create();
      setupMs = performance.now() - t;
      started = performance.now();
      // The path, not bytes: the library's own bounded reader must meet devices and FIFOs.
      const d = await detector.detect(args[0]);
      return { faces: d.faces.length, width: d.width, height: d.height };
    }
    case 'npz': {
      started = performance.now();
      const bytes = readBoundedFile(args[0], DEFAULT_MAX_BYTES.array, (reason) => new NpyError(args[0], reason));
      const arrays = readNpz(bytes, args[0]);
      return { arrays: Object.fromEntries([...arrays].map(([k, t]) => [k, t.shape])) };
    }
    case 'embed': {
      started = performance.now();
      // Loading the poisoned weights is part of the attack, so it is timed with the embedding.
      const embedder = new FaceEmbedder({ weights: args[0] });
      const r = await embedder.embed(args[1]);
      const finite = r.faces.every((f) => f.embedding.every(Number.isFinite));
      return { faces: r.faces.length, skipped: r.skipped.length, allEmbeddingsFinite: finite };
    }
    default:
      throw new Error(`unknown case kind '${kind}' (detect, npz, embed)`);
  }
}

try {
  const detail = await run();
  report({ outcome: 'completed', ms: performance.now() - started, setupMs, detail });
} catch (e) {
  report(failure(e, performance.now() - started, setupMs));
}
