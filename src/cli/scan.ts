// `tsface scan`: a folder (or files) to faces.jsonl on this machine, or as jobs on a queue.
import { numberFlag, parseArgs } from './args.ts';
import { enqueueScan } from '../collection/queue.ts';
import { runScan } from '../collection/scan.ts';
import type { ScanSelection } from '../collection/imageScanner.ts';
import { checkSettings, SELECTIONS } from '../collection/imageScanner.ts';
import type { Runtime } from '../runtime.ts';
import { ArgumentError } from '../errors.ts';

export const SCAN_USAGE = `tsface scan <dir|image...> --out faces.jsonl [--embed] [--model M] [--resume]
              [--select ${SELECTIONS.join('|')}] [--decoders N] [--max-pixels N] [--progress-every S]
  tsface scan <dir|image...> --queue redis://HOST:PORT [--embed] [--model M] [--select ...]`;

export const SCAN_HELP = `usage:
  ${SCAN_USAGE}

On the CPU backend, --threads N (a common option) scans N photos at once, each whole on a thread
of its own; the lines are those of --threads 1, byte for byte and in the same order. With
--threads 1 the photos run here and --decoders N threads decode the next ones ahead.
Ctrl-C stops between photos and keeps every line written: the same command with --resume
finishes the scan.
`;

export const SCAN_FLAGS = {
  valued: new Set(['out', 'model', 'select', 'decoders', 'max-pixels', 'progress-every', 'queue']),
  boolean: new Set(['embed', 'resume']),
};

export async function scanCommand(argv: readonly string[], runtime: Runtime): Promise<number> {
  const args = parseArgs(argv, SCAN_FLAGS.valued, SCAN_FLAGS.boolean);
  if (args.positionals.length === 0) throw new ArgumentError(`no folder or image given\nusage: ${SCAN_USAGE}`);
  const settings = checkSettings({
    embed: args.flags.has('embed'),
    model: args.flags.get('model') as string | undefined,
    select: args.flags.get('select') as ScanSelection | undefined,
    maxPixels: numberFlag(args, 'max-pixels'),
  });
  const queue = args.flags.get('queue');
  if (typeof queue === 'string') {
    if (args.flags.has('out') || args.flags.has('resume')) throw new ArgumentError('--queue enqueues jobs; --out and --resume belong to `tsface collect` and local scans');
    const { added, total } = await enqueueScan(queue, args.positionals, settings);
    process.stderr.write(`tsface scan: ${added} new jobs enqueued (${total - added} were already there); run \`tsface worker --queue ${queue}\` on each machine and \`tsface collect --queue ${queue} --out faces.jsonl\`\n`);
    return 0;
  }
  const out = args.flags.get('out');
  if (typeof out !== 'string') throw new ArgumentError(`--out FILE is required\nusage: ${SCAN_USAGE}`);
  const report = runtime.report();
  // Ctrl-C (or a SIGTERM) stops the photo threads and leaves whole lines for --resume.
  const stop = new AbortController();
  const interrupt = (signal: NodeJS.Signals) => stop.abort(new Error(`${signal}: the lines written so far are kept; run the same command with --resume to finish`));
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  let s;
  try {
    s = await runScan({
      ...settings,
      inputs: args.positionals,
      out,
      backend: runtime.backend,
      resume: args.flags.has('resume'),
      decoders: numberFlag(args, 'decoders'),
      progressEvery: numberFlag(args, 'progress-every'),
      photoThreads: report.backend === 'cpu' ? report.threads : 1,
      signal: stop.signal,
    });
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
  process.stderr.write(`tsface scan: ${s.found} images, ${s.skipped} already done, ${s.scanned} scanned (${s.errors} error lines), ${s.faces} faces in ${s.seconds.toFixed(1)} s -> ${out}\n`);
  return 0;
}
