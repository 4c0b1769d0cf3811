// The host tsface runs on. Node's implementation by default; the browser bundle (tools/build)
// resolves ./node.ts to ./browser.ts, which has the same exports.
export * from './node.ts';
export type { KernelWorker, KernelWorkerPort } from './types.ts';
