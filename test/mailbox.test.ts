// The spin hand-off's mailbox protocol (src/tensor/cpu/handoff.ts), both sides on this thread:
// a serving worker leaves for its event loop as soon as the pool has posted more messages than it
// has received, after the jobs already written, instead of serving on until it has idled
// LINGER_MS. (With a one-word flag, a wake-up that raced the worker's leaving sat ahead of a whole
// pass, the flag already spent, and two-thread detections stalled 250 ms.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Mailbox, MailboxServer, type SpinMessage } from '../src/tensor/cpu/handoff.ts';
import type { Job } from '../src/tensor/cpu/jobs.ts';

/** A mailbox whose messages land in `posted`, and its server, which counts them as received when `deliver` hands them over. */
function pair() {
  const posted: SpinMessage[] = [];
  const box = new Mailbox((m) => posted.push(m as SpinMessage));
  let received = 0;
  const ran: Job[] = [];
  const server = new MailboxServer(posted[0].mailbox!, (job) => ran.push(job), (f) => assert.fail(f.message), () => received);
  const deliver = () => {
    while (received < posted.length) server.receive(posted[received++]);
  };
  deliver();
  return { box, server, posted, ran, deliver, count: () => posted.length };
}

const softmaxJob = () => ({
  kind: 'softmax', simd: false, x: new Float32Array(new SharedArrayBuffer(16)), out: new Float32Array(new SharedArrayBuffer(16)),
  n: 1, c: 2, plane: 2, rows: 1, counter: new Int32Array(new SharedArrayBuffer(4)), grain: 1, spread: 2, total: 2, id: 0,
}) as unknown as Job;

test('a serving worker leaves at once when a message is posted that it has not received', () => {
  const { box, server, count } = pair();
  box.notePosted(count() + 1); // a whole pass, posted but still in the event loop's queue
  assert.equal(server.serve(), 'messages');
});

test('a job written before the message is served first, then the worker leaves for the message', async () => {
  const { box, server, ran, deliver, count } = pair();
  box.offer(softmaxJob()); // posts the job's buffers and data first: the worker must read them
  assert.equal(server.serve(), 'registration');
  deliver();
  box.notePosted(count() + 1);
  assert.equal(server.serve(), 'messages');
  assert.equal(ran.length, 1);
  await box.conclude(() => null); // done: no wait
});
