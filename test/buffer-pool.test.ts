// The CPU backend's pool of released buffers (src/tensor/cpu/bufferPool.ts): best fit up to twice
// the need, only whole buffers or the views it handed out come back, a buffer moved to another
// thread leaves it, and after each pass it keeps no more than the recent passes were handed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferPool } from '../src/tensor/cpu/bufferPool.ts';

const MB = 2 ** 20;

test('a need takes the smallest spare that holds it, up to twice its size, as a view from its start', () => {
  const pool = new BufferPool(64 * MB);
  const big = pool.take(1000, false);
  const mid = pool.take(600, false);
  pool.give(big);
  pool.give(mid);
  assert.equal(pool.freshBytes, 6400);
  const a = pool.take(500, false); // 600 fits best (1000 would too)
  assert.equal(a.buffer, mid.buffer);
  assert.equal(a.length, 500);
  const b = pool.take(400, false); // 1000 is more than twice 400: a fresh buffer
  assert.notEqual(b.buffer, big.buffer);
  assert.equal(pool.freshBytes, 6400 + 1600);
  const c = pool.take(999, false);
  assert.equal(c.buffer, big.buffer);
});

test('only a whole buffer or the view handed out comes back; shared and plain memory stay apart', () => {
  const pool = new BufferPool(64 * MB);
  const a = pool.take(100, false);
  pool.give(a.subarray(0, 50)); // a slice of it: not the pool's to take
  pool.give(a.subarray(10)); // nor an offset view
  assert.notEqual(pool.take(100, false).buffer, a.buffer);
  const foreign = new Float32Array(new ArrayBuffer(800), 0, 100); // a view it never handed out
  pool.give(foreign);
  assert.notEqual(pool.take(100, false).buffer, foreign.buffer);
  const whole = new Float32Array(100);
  pool.give(whole); // a whole buffer is taken back
  assert.equal(pool.take(100, false).buffer, whole.buffer);
  const s = pool.take(100, true);
  assert.ok(s.buffer instanceof SharedArrayBuffer);
  pool.give(s);
  const p = pool.take(100, false);
  assert.ok(!(p.buffer instanceof SharedArrayBuffer));
  assert.equal(pool.take(100, true).buffer, s.buffer);
});

test('transferable: the buffer of a view it handed out, once; a slice or shared memory is copied instead', () => {
  const pool = new BufferPool(64 * MB);
  const big = pool.take(1000, false);
  pool.give(big);
  const view = pool.take(700, false);
  assert.equal(pool.transferable(view), view.buffer);
  assert.equal(pool.transferable(view), null); // forgotten: moved away
  assert.equal(pool.transferable(new Float32Array(10).subarray(1)), null);
  assert.equal(pool.transferable(pool.take(10, true)), null);
  const moved = new Float32Array(new ArrayBuffer(4000), 0, 700); // a worker's output, arrived here
  pool.adopt(moved);
  pool.give(moved);
  assert.equal(pool.take(700, false).buffer, moved.buffer);
});

test('after a pass the pool keeps at most what the largest of the last passes was handed', () => {
  const pool = new BufferPool(64 * MB);
  // Three passes of 1 MB each, their buffers released after: the pool keeps 1 MB.
  for (let i = 0; i < 3; i++) {
    const mark = pool.startPass();
    const x = pool.take(MB / 4, false);
    pool.give(x);
    pool.endPass(mark);
  }
  assert.equal(pool.freshBytes, MB); // the later passes reused the first one's buffer
  // A pass of other shapes, larger: three needs of 0.5 MB, the first served by the 1 MB spare,
  // the others fresh. Kept whole while the pass runs and after it, so a repeat makes nothing new.
  for (let round = 0; round < 2; round++) {
    const before = pool.freshBytes;
    const mark = pool.startPass();
    const held = [pool.take(MB / 8 + 1, false), pool.take(MB / 8 + 2, false), pool.take(MB / 8 + 3, false)];
    for (const h of held) pool.give(h);
    pool.endPass(mark);
    assert.equal(pool.freshBytes - before, round === 0 ? 2 * (MB / 2) + 20 : 0);
  }
  // Then eight small passes (1 KB): the large buffers age out of the limit.
  for (let i = 0; i < 8; i++) {
    const mark = pool.startPass();
    pool.give(pool.take(256, false));
    pool.endPass(mark);
  }
  const before = pool.freshBytes;
  pool.take(MB / 8 + 1, false);
  assert.equal(pool.freshBytes - before, MB / 2 + 4);
});

/** Fresh bytes `pool` makes over three repeats of `round`, run once before to fill it. */
function freshOverRepeats(pool: BufferPool, round: () => void): number {
  round();
  const before = pool.freshBytes;
  for (let i = 0; i < 3; i++) round();
  return pool.freshBytes - before;
}

test('a buffer adopted from another thread counts as handed out: the pass keeps room for it and for its own', () => {
  const pool = new BufferPool(64 * MB);
  const fresh = freshOverRepeats(pool, () => {
    const mark = pool.startPass();
    // A buffer of the pass's own released midway (an unpooled conv output), then a worker's
    // output arriving and released once joined.
    pool.give(pool.take(MB / 4, false));
    const moved = new Float32Array(new ArrayBuffer(MB / 2));
    pool.adopt(moved);
    pool.give(moved);
    pool.endPass(mark);
  });
  // Uncounted, the arrival filled the pass's room and pushed its own buffer out every time.
  assert.equal(fresh, 0);
});

test('what is handed out between passes counts toward the next one: a batch input made before its pass and given back after stays', () => {
  const pool = new BufferPool(64 * MB);
  const fresh = freshOverRepeats(pool, () => {
    const input = pool.take(MB / 8, false); // made between passes (the crops of a batch)
    const mark = pool.startPass();
    pool.give(pool.take(MB / 4, false)); // an intermediate of the pass, released midway
    const output = pool.take(MB / 64, false);
    pool.endPass(mark);
    pool.give(input);
    pool.give(output);
  });
  // Counted from the pass's start only, the input's return pushed the intermediate out every time.
  assert.equal(fresh, 0);
});
