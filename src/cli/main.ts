#!/usr/bin/env node
// tsface command line: `tsface <command> [...]`.
import { TsfaceError } from '../errors.ts';
import { DETECT_USAGE, detectCommand } from './detect.ts';
import { EMBED_USAGE, embedCommand } from './embed.ts';
import { INSPECT_USAGE, inspectCommand } from './inspect.ts';
import { createRuntime, type RuntimeOptions } from '../runtime.ts';
import { ArgumentError } from '../errors.ts';
import { WEIGHTS_USAGE, weightsCommand } from './weights.ts';
import { userMessage } from './output.ts';
import { SCAN_USAGE, scanCommand } from './scan.ts';
import { CLUSTER_USAGE, clusterCommand } from './cluster.ts';
import { INDEX_BUILD_USAGE, indexBuildCommand } from './indexBuild.ts';
import { WORKER_USAGE, workerCommand } from './worker.ts';
import { COLLECT_USAGE, collectCommand } from './collect.ts';
import { TRAIN_USAGE, trainCommand } from './train.ts';
import { helpFor } from './commands.ts';

export const USAGE = `tsface: face detection, alignment and recognition in pure TypeScript

usage:
  ${DETECT_USAGE}
  ${EMBED_USAGE}
  ${WEIGHTS_USAGE}
  ${INSPECT_USAGE}
  ${SCAN_USAGE}
  ${CLUSTER_USAGE}
  ${INDEX_BUILD_USAGE}
  ${WORKER_USAGE}
  ${COLLECT_USAGE}
  ${TRAIN_USAGE}
  tsface <command> --help        that command's usage (also -h, or tsface help <command>)

common options (every command that runs a net):
  --backend cpu|gpujs            default: TSFACE_BACKEND (cpu, gpujs, gpujs:MODE) or cpu
  --gpujs-mode auto|webasm|webgpu|headlessgl|cpu
  --gpujs-threads                gpu.js async contract (webasm over worker threads)
  --threads N                    CPU backend threads (default: TSFACE_THREADS or up to 2)
  --decoder tsface|jpeg-js       JPEG decoder: tsface's own (libjpeg-turbo's pixels, as PIL gives;
                                 default, or TSFACE_JPEG_DECODER) or jpeg-js's
`;

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || (command === 'help' && rest.length === 0) || command === '-h') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  // Help before anything else: no runtime is started, and no other option is checked.
  if (command === 'help' || rest.includes('--help') || rest.includes('-h')) {
    const help = command === 'help' ? helpFor(rest[0], rest.slice(1)) : helpFor(command, rest);
    if (help !== null) {
      process.stdout.write(help);
      return 0;
    }
    if (command === 'help') {
      process.stderr.write(`tsface: unknown command '${rest[0]}'\n\n${USAGE}`);
      return 2;
    }
  }
  let runtime;
  try {
    runtime = createRuntime(takeRuntimeFlags(rest));
  } catch (e) {
    if (!(e instanceof TsfaceError)) throw e;
    process.stderr.write(`tsface ${command}: ${e.message}\n`);
    return 2;
  }
  try {
    if (command === 'index' && (rest[0] === 'build' || rest[0] === 'search')) return await indexBuildCommand(rest, runtime);
    switch (command) {
      case 'scan':
        return await scanCommand(rest, runtime);
      case 'cluster':
        return await clusterCommand(rest);
      case 'worker':
        return await workerCommand(rest, runtime);
      case 'collect':
        return await collectCommand(rest);
      case 'train':
        return await trainCommand(rest, runtime);
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
    // Bad input and file-system problems are the user's to fix: one line, no stack trace.
    const message = userMessage(e);
    if (message !== null) {
      process.stderr.write(`tsface ${command}: ${message}\n`);
      return 2;
    }
    throw e;
  } finally {
    const report = runtime.report();
    if (report.fallback) process.stderr.write(`tsface: WARNING: backend fell back: ${report.fallback}\n`);
    else if (rest.includes('--explain')) {
      process.stderr.write(`tsface: backend ${report.backend}, mode ${report.mode}, threads ${report.threads}${report.executor ? `, nets as ${report.executor} pipelines` : ''}\n`);
    }
    await runtime.dispose();
  }
}

/** The options takeRuntimeFlags removes before a command parses the rest (listed under "common options"). */
export const RUNTIME_FLAGS = ['backend', 'gpujs-mode', 'gpujs-threads', 'threads', 'decoder'] as const;

/** Removes --backend, --gpujs-mode, --gpujs-threads, --threads and --decoder from argv (shared by every command). */
function takeRuntimeFlags(args: string[]): RuntimeOptions {
  const options: RuntimeOptions = {};
  const threadsAt = args.indexOf('--gpujs-threads');
  if (threadsAt >= 0) {
    args.splice(threadsAt, 1);
    options.gpujsThreads = true;
  }
  const decoderAt = args.indexOf('--decoder');
  if (decoderAt >= 0) {
    const value = args[decoderAt + 1];
    if (value !== 'tsface' && value !== 'jpeg-js') throw new ArgumentError(`--decoder must be tsface or jpeg-js, got '${value ?? ''}'`);
    args.splice(decoderAt, 2);
    // Every command decodes through decodeImage, in this thread or the scan's decode workers,
    // which inherit the environment: one setting reaches them all.
    process.env.TSFACE_JPEG_DECODER = value;
  }
  for (const flag of ['--backend', '--gpujs-mode', '--threads']) {
    const at = args.indexOf(flag);
    if (at < 0) continue;
    const value = args[at + 1];
    if (value === undefined) throw new ArgumentError(`${flag} needs a value`);
    args.splice(at, 2);
    if (flag === '--backend') {
      if (value !== 'cpu' && value !== 'gpujs') throw new ArgumentError(`--backend must be cpu or gpujs, got '${value}'`);
      options.backend = value;
    } else if (flag === '--gpujs-mode') {
      if (!['auto', 'webasm', 'webgpu', 'headlessgl', 'cpu'].includes(value)) throw new ArgumentError(`unknown --gpujs-mode '${value}'`);
      options.gpujsMode = value as RuntimeOptions['gpujsMode'];
      options.backend ??= 'gpujs';
    } else {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new ArgumentError(`--threads must be a positive integer, got '${value}'`);
      options.threads = n;
    }
  }
  return options;
}

const invokedDirectly = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!);
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    process.stderr.write(`tsface: internal error: ${(e as Error).stack ?? e}\n`);
    process.exit(70);
  });
}
