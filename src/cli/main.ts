#!/usr/bin/env node
// tsface command line: `tsface <command> [...]`.
import { TsfaceError } from '../tensor/errors.ts';
import { DETECT_USAGE, detectCommand } from './detect.ts';
import { EMBED_USAGE, embedCommand } from './embed.ts';
import { INSPECT_USAGE, inspectCommand } from './inspect.ts';
import { createCliRuntime } from './runtime.ts';
import { WEIGHTS_USAGE, weightsCommand } from './weights.ts';

const USAGE = `tsface: face detection, alignment and recognition in pure TypeScript

usage:
  ${DETECT_USAGE}
  ${EMBED_USAGE}
  ${WEIGHTS_USAGE}
  ${INSPECT_USAGE}

common options:
  --threads N     CPU threads (default: TSFACE_THREADS or up to 2)
`;

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const threadsAt = rest.indexOf('--threads');
  let threads: number | undefined;
  if (threadsAt >= 0) {
    threads = Number(rest[threadsAt + 1]);
    rest.splice(threadsAt, 2);
  }
  if (!command || command === '--help' || command === 'help' || command === '-h') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  const runtime = createCliRuntime(threads);
  try {
    switch (command) {
      case 'detect':
        return await detectCommand(rest, runtime);
      case 'embed':
      case 'compare':
      case 'index':
      case 'search':
      case 'align':
      case 'eval-lfw':
        return await embedCommand(command, rest, runtime);
      case 'weights':
        return await weightsCommand(rest);
      case 'summary':
      case 'inspect':
      case 'crosscheck':
        return await inspectCommand(command, rest, runtime);
      default:
        process.stderr.write(`tsface: unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof TsfaceError) {
      process.stderr.write(`tsface ${command}: ${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    await runtime.backend.dispose();
  }
}

const invokedDirectly = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!);
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    process.stderr.write(`tsface: internal error: ${(e as Error).stack ?? e}\n`);
    process.exit(70);
  });
}
