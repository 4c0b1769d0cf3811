// A module Web Worker that imports the bundle itself, as a page that keeps detection off its main
// thread would: runs the defaults (runner.ts) on the URLs it is sent and posts the results back.
import { runDefaults } from './runner.ts';

addEventListener('message', async (e: MessageEvent<{ bundle: string; urls: string[] }>) => {
  try {
    const lib = await import(e.data.bundle);
    postMessage({ isolated: crossOriginIsolated, ...(await runDefaults(lib, e.data.urls)) });
  } catch (err) {
    postMessage({ error: String((err as Error)?.stack ?? err) });
  }
});
