import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs `tsface scan IMAGES --out OUT --embed --threads N` in a child and SIGKILLs it once OUT has
 * two lines (or the child has exited): no clock decides when, so a loaded machine only moves the
 * kill, never fails it. Resolves once the child is gone.
 */
export async function scanKilledAfterTwoLines(images: string, out: string, threads: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'scan', images, '--out', out, '--embed', '--threads', String(threads)], { cwd: ROOT, stdio: 'ignore' });
  let done = false;
  const exited = new Promise((resolve) => child.on('exit', resolve)).then(() => (done = true));
  let seen = 0;
  while (seen < 2 && !done) {
    await new Promise((r) => setTimeout(r, 20));
    try { seen = readFileSync(out, 'utf8').split('\n').length - 1; } catch { /* not created yet */ }
  }
  child.kill('SIGKILL');
  await exited;
}
