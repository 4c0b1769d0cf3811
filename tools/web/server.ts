// A small static file server on 127.0.0.1 for the demo page and the browser tests: the
// repository at /, ../shared at /shared/. With `isolated` (the default), every response carries
// the COOP/COEP headers that make a page cross-origin isolated, so SharedArrayBuffer and the CPU
// backend's Web Worker threads are available there; `isolated: false` (ISOLATED=0) serves pages
// as most sites do, where tsface runs on one thread. Every response allows any origin to read it,
// as a CDN serving the bundle would, so pages of another origin (a sandboxed frame, whose origin
// is opaque) can import the bundle and fetch its weights.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.safetensors': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const SHARED_DIR = resolve(REPO, '..', 'shared');

export interface StaticServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Maps a URL path to a file inside one of the served folders, or null (never outside them). */
function fileFor(urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split('?')[0]);
  } catch {
    return null;
  }
  const [base, rest] = path.startsWith('/shared/') ? [SHARED_DIR, path.slice('/shared/'.length)] : [REPO, path.slice(1)];
  const file = resolve(base, normalize(rest));
  if (file !== base && !file.startsWith(base + sep)) return null;
  if (existsSync(file) && statSync(file).isDirectory()) return join(file, 'index.html');
  return file;
}

export async function startServer(options: { port?: number; isolated?: boolean } = {}): Promise<StaticServer> {
  const isolated = options.isolated ?? true;
  const server: Server = createServer((req, res) => {
    const file = fileFor(req.url ?? '/');
    const headers: Record<string, string> = { 'cache-control': 'no-store', 'access-control-allow-origin': '*' };
    if (isolated) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
      headers['cross-origin-resource-policy'] = 'same-origin';
    }
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', 'content-length': String(statSync(file).size) });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', () => ok());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.env.PORT ?? 8080);
  const s = await startServer({ port, isolated: process.env.ISOLATED !== '0' });
  console.log(`tsface demo: ${s.url}/examples/web/ (serving the repository and ../shared; Ctrl-C stops)`);
}
