#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm ci` through the prepare script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('tsface: dist/ is missing; run `npm run build` (npm ci does it) first\n');
  process.exit(70);
}
const { main } = await import(entry.href);
process.exit(await main(process.argv.slice(2)));
