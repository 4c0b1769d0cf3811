// Worker side of the cold-start rows: imported ahead of tsface's kernel worker (cold.ts starts the
// worker from a module that imports this first), so the worker's WebAssembly compiles are seen
// too; each is logged to the console, which the Node side reads from every worker of the page.
import { installHooks, logCompiles } from './hooks.ts';

installHooks();
logCompiles((globalThis as { name?: string }).name || 'worker');
