// Every command of the CLI with its usage and the options its parser takes, in one table:
// `tsface <command> --help` prints the usage from here, and test/cli-help.test.ts holds each
// usage to the flag table its parser is called with, so the two cannot drift apart.
import { CLUSTER_FLAGS, CLUSTER_HELP, CLUSTER_USAGE } from './cluster.ts';
import { COLLECT_FLAGS, COLLECT_USAGE } from './collect.ts';
import { DETECT_FLAGS, DETECT_USAGE } from './detect.ts';
import { EMBED_COMMANDS } from './embed.ts';
import { INDEX_BUILD_COMMANDS } from './indexBuild.ts';
import { INSPECT_COMMANDS } from './inspect.ts';
import { SCAN_FLAGS, SCAN_HELP, SCAN_USAGE } from './scan.ts';
import { TRAIN_FLAGS, TRAIN_HELP, TRAIN_USAGE } from './train.ts';
import { WEIGHTS_FLAGS, WEIGHTS_USAGE } from './weights.ts';
import { WORKER_FLAGS, WORKER_USAGE } from './worker.ts';

export interface CommandSpec {
  /** As typed: 'detect', or a command and its subcommand ('index build'). */
  name: string;
  /** The lines of the top-level usage. */
  usage: string;
  /** The full text of `--help` where it says more than the usage (train's options and defaults). */
  help?: string;
  valued: ReadonlySet<string>;
  boolean: ReadonlySet<string>;
}

const named = (table: Record<string, Omit<CommandSpec, 'name'>>): CommandSpec[] => Object.entries(table).map(([name, spec]) => ({ name, ...spec }));

export const COMMANDS: readonly CommandSpec[] = [
  { name: 'detect', usage: DETECT_USAGE, ...DETECT_FLAGS },
  ...named(EMBED_COMMANDS),
  ...named(INDEX_BUILD_COMMANDS),
  { name: 'weights', usage: WEIGHTS_USAGE, ...WEIGHTS_FLAGS },
  ...named(INSPECT_COMMANDS),
  { name: 'scan', usage: SCAN_USAGE, help: SCAN_HELP, ...SCAN_FLAGS },
  { name: 'cluster', usage: CLUSTER_USAGE, help: CLUSTER_HELP, ...CLUSTER_FLAGS },
  { name: 'worker', usage: WORKER_USAGE, ...WORKER_FLAGS },
  { name: 'collect', usage: COLLECT_USAGE, ...COLLECT_FLAGS },
  { name: 'train', usage: TRAIN_USAGE, help: TRAIN_HELP, ...TRAIN_FLAGS },
];

/**
 * The help for `tsface <command> [sub] --help`: that subcommand's usage when one is named
 * (`index build`), else every usage of the command (`index`: add, build and search); null for
 * a command tsface does not have.
 */
export function helpFor(command: string, rest: readonly string[]): string | null {
  const exact = COMMANDS.filter((c) => c.name === `${command} ${rest[0]}`);
  const matches = exact.length ? exact : COMMANDS.filter((c) => c.name === command || c.name.startsWith(`${command} `));
  if (matches.length === 0) return null;
  if (matches.length === 1 && matches[0].help) return matches[0].help;
  return `usage:\n${matches.map((c) => `  ${c.usage}\n`).join('')}\nthe common options (backend, threads, decoder): tsface --help\n`;
}
