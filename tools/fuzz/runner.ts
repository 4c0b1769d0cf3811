// The fuzzing loop: mutate seeds, run each case in a worker thread with a time limit, a heap
// limit and a watch on resident memory, and classify what happened.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { mutate, Rng } from './mutate.ts';
import { seedsFor, type Kind } from './seeds.ts';
import type { CaseReply } from './worker.ts';

export type Outcome = 'accepted' | 'typed' | 'crash' | 'hang' | 'oom';
export const BAD_OUTCOMES: readonly Outcome[] = ['crash', 'hang', 'oom'];

export interface FuzzOptions {
  seconds: number;
  kinds: readonly Kind[];
  seed: number;
  /** Where inputs that crash, hang or exhaust memory are saved, as <dir>/<kind>/<hash>.bin. */
  saveDir?: string;
  /** Per case (default 10 s: a default-limit 50 MP decode fits well inside it). */
  caseTimeoutMs?: number;
  /** Worker heap limit (default 512 MB). */
  heapLimitMb?: number;
  /** Resident memory of the whole process that counts as out of memory (default 1536 MB). */
  rssLimitMb?: number;
  /** Stop after this many cases (for a run of fixed size). */
  maxCases?: number;
  log?: (line: string) => void;
}

export interface Finding {
  kind: Kind;
  outcome: Outcome | 'differential';
  detail: string;
  bytes: Uint8Array;
  file?: string;
}

export interface FuzzReport {
  cases: number;
  seconds: number;
  counts: Record<string, Record<Outcome, number>>;
  findings: Finding[];
  /** Accepted inputs per kind, for a differential pass against a reference reader. */
  accepted: Map<Kind, Uint8Array[]>;
}

/** One worker thread, replaced whenever a case kills or stalls it. */
class CaseRunner {
  private worker: Worker | null = null;
  private nextId = 0;
  constructor(private readonly heapLimitMb: number) {}

  private start(): Worker {
    // The worker is TypeScript: the thread registers tsx's loader before importing it.
    const boot = `(async () => { const { workerData } = await import('node:worker_threads');
      (await import(workerData.tsx)).register(); await import(workerData.entry); })()`;
    const w = new Worker(boot, {
      eval: true,
      workerData: { tsx: import.meta.resolve('tsx/esm/api'), entry: new URL('./worker.ts', import.meta.url).href },
      resourceLimits: { maxOldGenerationSizeMb: this.heapLimitMb, maxYoungGenerationSizeMb: 64 },
    });
    w.unref();
    return w;
  }

  run(kind: Kind, bytes: Uint8Array, timeoutMs: number, rssLimit: number): Promise<{ outcome: Outcome; detail: string }> {
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (outcome: Outcome, detail: string, kill: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(watch);
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        if (kill) {
          void worker.terminate();
          this.worker = null;
        }
        resolve({ outcome, detail });
      };
      const onMessage = (m: CaseReply) => { if (m.id === id) finish(m.outcome, m.detail, false); };
      const onError = (e: Error & { code?: string }) => finish(e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'oom' : 'crash', e.stack ?? String(e), true);
      const onExit = (code: number) => finish('crash', `worker exited with code ${code}`, true);
      const timer = setTimeout(() => finish('hang', `no answer within ${timeoutMs} ms`, true), timeoutMs);
      const watch = setInterval(() => {
        const rss = process.memoryUsage.rss();
        if (rss > rssLimit) finish('oom', `resident memory ${(rss / 2 ** 20).toFixed(0)} MB over ${(rssLimit / 2 ** 20).toFixed(0)} MB`, true);
      }, 25);
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      worker.postMessage({ id, kind, bytes });
    });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = null;
  }
}

export function saveFinding(dir: string, kind: Kind, bytes: Uint8Array, prefix = ''): string {
  const folder = join(dir, kind);
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `${prefix}${createHash('sha1').update(bytes).digest('hex').slice(0, 16)}.bin`);
  if (!existsSync(file)) writeFileSync(file, bytes);
  return file;
}

export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const rng = new Rng(options.seed);
  const timeoutMs = options.caseTimeoutMs ?? 10_000;
  const rssLimit = (options.rssLimitMb ?? 1536) * 2 ** 20;
  const runner = new CaseRunner(options.heapLimitMb ?? 512);
  const pools = new Map(options.kinds.map((k) => [k, seedsFor(k)]));
  const counts: FuzzReport['counts'] = {};
  const accepted = new Map<Kind, Uint8Array[]>();
  const findings: Finding[] = [];
  const started = performance.now();
  let cases = 0;
  try {
    while ((performance.now() - started) / 1000 < options.seconds && cases < (options.maxCases ?? Infinity)) {
      const kind = options.kinds[cases % options.kinds.length];
      const pool = pools.get(kind)!;
      const bytes = mutate(pool[rng.below(pool.length)], pool[rng.below(pool.length)], rng);
      const { outcome, detail } = await runner.run(kind, bytes, timeoutMs, rssLimit);
      cases++;
      const c = (counts[kind] ??= { accepted: 0, typed: 0, crash: 0, hang: 0, oom: 0 });
      c[outcome]++;
      if (outcome === 'accepted') {
        const list = accepted.get(kind) ?? [];
        if (list.length < 300) list.push(bytes);
        accepted.set(kind, list);
        // Accepted mutants become seeds too (a few), so later mutations reach deeper.
        if (pool.length < 64 && rng.below(4) === 0) pool.push(bytes);
      } else if (BAD_OUTCOMES.includes(outcome)) {
        const file = options.saveDir ? saveFinding(options.saveDir, kind, bytes) : undefined;
        findings.push({ kind, outcome, detail, bytes, file });
        options.log?.(`${kind}: ${outcome.toUpperCase()} ${file ?? ''}\n  ${detail.split('\n').slice(0, 4).join('\n  ')}`);
      }
    }
  } finally {
    await runner.close();
  }
  return { cases, seconds: (performance.now() - started) / 1000, counts, findings, accepted };
}
