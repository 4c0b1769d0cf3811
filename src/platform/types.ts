// What tsface needs from its host, and nothing else: Node and the browser each implement it
// once (node.ts, browser.ts), and the browser bundle swaps one for the other at build time,
// so no layer, net or pipeline ever asks where it runs.

/** A worker that runs shares of the CPU backend's kernels on shared memory (see cpu/threadPool.ts). */
export interface KernelWorker {
  /** `transfer`: buffers whose ownership moves with the message instead of being copied. */
  post(message: unknown, transfer?: ArrayBuffer[]): void;
  /** Whether an idle worker may let the process end (Node); browsers ignore it. */
  hold(busy: boolean): void;
  terminate(): Promise<void>;
}

/** The worker side: where jobs arrive and results go back. */
export interface KernelWorkerPort {
  onMessage(handler: (message: unknown) => void): void;
  post(message: unknown, transfer?: ArrayBuffer[]): void;
}
