// A small argument parser: positionals, --flag, --key value, --key=value.
import { ArgumentError } from '../errors.ts';

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

export function parseArgs(argv: readonly string[], valued: ReadonlySet<string>, boolean: ReadonlySet<string>): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--') || a === '--') {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const key = a.slice(2, eq < 0 ? undefined : eq);
    if (valued.has(key)) {
      const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new ArgumentError(`--${key} needs a value`);
      flags.set(key, value);
    } else if (boolean.has(key)) {
      flags.set(key, true);
    } else {
      throw new ArgumentError(`unknown option --${key}`);
    }
  }
  return { positionals, flags };
}

export function numberFlag(args: ParsedArgs, key: string): number | undefined {
  const v = args.flags.get(key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === true || !Number.isFinite(n)) throw new ArgumentError(`--${key} must be a number, got '${v}'`);
  return n;
}
