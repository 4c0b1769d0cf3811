// Image decoding on worker threads, round robin. A decode error comes back as the same
// ImageError the main thread would have thrown; a thread that dies fails its pending images.
import type { Worker } from 'node:worker_threads';
import { startNodeWorker } from '../platform/node.ts';
import type { RgbImage } from '../image/decode.ts';
import { ImageError } from '../errors.ts';
import type { DecodeReply, DecodeRequest } from './decodeWorker.ts';

interface Pending {
  resolve: (img: RgbImage) => void;
  reject: (e: Error) => void;
  worker: Worker;
}

export class DecodePool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private turn = 0;

  constructor(readonly size: number, private readonly maxPixels?: number) {
    for (let i = 0; i < size; i++) this.workers.push(this.start());
  }

  private disposed = false;

  private start(): Worker {
    const worker = startNodeWorker(new URL('./decodeWorker', import.meta.url));
    worker.on('message', (m: DecodeReply) => this.settle(m));
    worker.on('error', (e) => this.failWorker(worker, e));
    worker.on('exit', (code) => this.failWorker(worker, new Error(`decoding thread exited (code ${code})`)));
    worker.unref();
    return worker;
  }

  /** Decodes on the next thread in turn; `maxPixels` overrides the pool's limit for this image. */
  decode(path: string, maxPixels = this.maxPixels): Promise<RgbImage> {
    const worker = this.workers[this.turn++ % this.workers.length];
    const id = this.nextId++;
    const request: DecodeRequest = { id, path, maxPixels };
    return new Promise<RgbImage>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker });
      worker.ref();
      worker.postMessage(request);
    });
  }

  private settle(m: DecodeReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    this.unrefIdle(p.worker);
    if ('error' in m) p.reject(m.typed ? new ImageError(m.error) : new Error(m.error));
    else p.resolve({ width: m.width, height: m.height, data: m.data });
  }

  private unrefIdle(worker: Worker): void {
    for (const p of this.pending.values()) if (p.worker === worker) return;
    worker.unref();
  }

  /** Fails the images a dead thread held and puts a fresh thread in its place. */
  private failWorker(worker: Worker, e: Error): void {
    const at = this.workers.indexOf(worker);
    if (at < 0) return;
    if (!this.disposed) this.workers[at] = this.start();
    for (const [id, p] of this.pending) {
      if (p.worker !== worker) continue;
      this.pending.delete(id);
      p.reject(e);
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
