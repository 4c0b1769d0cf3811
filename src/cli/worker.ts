// `tsface worker`: takes scan jobs from the queue until stopped (Ctrl-C or SIGTERM finish the jobs in hand).
import { startWorker } from '../collection/queue.ts';
import type { Runtime } from '../runtime.ts';
import { ArgumentError } from '../errors.ts';
import { numberFlag, parseArgs } from './args.ts';

export const WORKER_USAGE = `tsface worker --queue redis://HOST:PORT [--concurrency N] [--lock-ms MS] [--quiet]`;
export const WORKER_FLAGS = { valued: new Set(['queue', 'concurrency', 'lock-ms']), boolean: new Set(['quiet']) };

export async function workerCommand(argv: readonly string[], runtime: Runtime): Promise<number> {
  const args = parseArgs(argv, WORKER_FLAGS.valued, WORKER_FLAGS.boolean);
  const url = args.flags.get('queue');
  if (typeof url !== 'string' || args.positionals.length) throw new ArgumentError(`usage: ${WORKER_USAGE}`);
  const quiet = args.flags.has('quiet');
  const worker = await startWorker({
    url,
    backend: runtime.backend,
    concurrency: numberFlag(args, 'concurrency'),
    lockMs: numberFlag(args, 'lock-ms'),
    log: quiet ? undefined : (line) => process.stderr.write(`tsface worker: ${line}\n`),
  });
  process.stderr.write(`tsface worker: waiting for jobs on ${url}\n`);
  const stopped = new Promise<null>((resolve) => {
    process.once('SIGINT', () => resolve(null));
    process.once('SIGTERM', () => resolve(null));
  });
  const lost = await Promise.race([stopped, worker.lost]);
  if (lost) throw lost;
  process.stderr.write('tsface worker: stopping after the jobs in hand\n');
  await worker.close();
  return 0;
}
