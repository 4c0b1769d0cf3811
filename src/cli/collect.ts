// `tsface collect`: the queue's results as faces.jsonl, once every enqueued image has its line.
import { collect } from '../collection/queue.ts';
import { ArgumentError } from '../errors.ts';
import { numberFlag, parseArgs } from './args.ts';

export const COLLECT_USAGE = `tsface collect --queue redis://HOST:PORT --out faces.jsonl [--idle-timeout S]`;
export const COLLECT_FLAGS = { valued: new Set(['queue', 'out', 'idle-timeout']), boolean: new Set<string>() };

export async function collectCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, COLLECT_FLAGS.valued, COLLECT_FLAGS.boolean);
  const url = args.flags.get('queue');
  const out = args.flags.get('out');
  if (typeof url !== 'string' || typeof out !== 'string' || args.positionals.length) throw new ArgumentError(`usage: ${COLLECT_USAGE}`);
  await collect({ url, out, idleTimeoutS: numberFlag(args, 'idle-timeout'), log: (line) => process.stderr.write(`tsface collect: ${line}\n`) });
  return 0;
}
