// tsface weights fetch openface | convert-openface | verify
import { convertOpenFaceCsv } from '../convert/openface.ts';
import { fetchOpenFace, writeConversion } from '../convert/openfaceFetch.ts';
import { openFaceCachePath } from '../io/cachePaths.ts';
import { ArgumentError } from '../errors.ts';
import { numberFlag, parseArgs } from './args.ts';

export const WEIGHTS_USAGE = `tsface weights fetch openface        download OpenFace nn4.small2.v1 (CSV dump) and convert it into the cache
  tsface weights convert-openface --csv DIR [--out FILE] [--stand-ins SEED]`;

/** Both subcommands share one parser: fetch takes no option, convert-openface these. */
export const WEIGHTS_FLAGS = { valued: new Set(['csv', 'out', 'stand-ins']), boolean: new Set<string>() };

export async function weightsCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, WEIGHTS_FLAGS.valued, WEIGHTS_FLAGS.boolean);
  const [sub, what] = args.positionals;
  if (sub === 'fetch' && what === 'openface') {
    const path = await fetchOpenFace((line) => process.stderr.write(`\r${line}   `));
    process.stderr.write('\n');
    console.log(`wrote ${path}`);
    return 0;
  }
  if (sub === 'convert-openface') {
    const csv = args.flags.get('csv');
    if (typeof csv !== 'string') throw new ArgumentError('convert-openface needs --csv DIR');
    const seed = numberFlag(args, 'stand-ins');
    const r = convertOpenFaceCsv(csv, { standInSeed: seed });
    const out = (args.flags.get('out') as string | undefined) ?? openFaceCachePath();
    writeConversion(out, r.tensors, r.metadata);
    if (r.missing.length) console.error(`WARNING: ${r.missing.length} missing tensors filled with seeded stand-ins (${r.missing.join(', ')}): this file is NOT OpenFace and tsface will refuse it as such`);
    if (r.unused.length) console.error(`ignored files that are not model tensors: ${r.unused.join(', ')}`);
    console.log(`wrote ${out}: ${r.tensors.size} tensors`);
    return 0;
  }
  throw new ArgumentError(`usage: ${WEIGHTS_USAGE}`);
}
