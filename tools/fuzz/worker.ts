// Runs fuzz cases one at a time for the runner, off its thread: a case that loops, exhausts
// the heap or crashes takes this worker down, never the runner.
import { parentPort } from 'node:worker_threads';
import { TsfaceError } from '../../src/errors.ts';
import type { Kind } from './seeds.ts';
import { runTarget } from './targets.ts';

export interface CaseRequest { id: number; kind: Kind; bytes: Uint8Array }
export interface CaseReply { id: number; outcome: 'accepted' | 'typed' | 'crash'; detail: string }

parentPort!.on('message', ({ id, kind, bytes }: CaseRequest) => {
  let reply: CaseReply;
  try {
    reply = { id, outcome: 'accepted', detail: runTarget(kind, bytes) };
  } catch (e) {
    reply = e instanceof TsfaceError
      ? { id, outcome: 'typed', detail: e.message.slice(0, 300) }
      : { id, outcome: 'crash', detail: (e as Error)?.stack ?? String(e) };
  }
  parentPort!.postMessage(reply);
});
