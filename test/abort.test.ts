// An AbortSignal stops detect and embed between stages with a typed error, and a detector that was
// stopped goes on working for the next call.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FaceEmbedder } from '../src/pipeline/embed.ts';
import { FaceDetector } from '../src/pipeline/mtcnn.ts';
import { AbortedError } from '../src/errors.ts';

const EXAMPLE = join(fileURLToPath(new URL('..', import.meta.url)), 'examples', 'astronaut.jpg');
const detector = new FaceDetector();
after(() => detector.dispose());

test('a signal that has already fired stops detect before any work, with its reason', async () => {
  const controller = new AbortController();
  controller.abort(new Error('request closed'));
  await assert.rejects(detector.detect(EXAMPLE, { signal: controller.signal }), (e: unknown) => e instanceof AbortedError && e.code === 'E_ABORTED' && /request closed/.test((e as Error).message));
});

test('a signal that fires during detection stops it at the next stage; the detector still works after', async () => {
  const controller = new AbortController();
  // Fires once the detection has started and yielded to the event loop (its first pyramid level).
  setImmediate(() => controller.abort());
  await assert.rejects(detector.detect(EXAMPLE, { signal: controller.signal }), AbortedError);
  const { faces } = await detector.detect(EXAMPLE);
  assert.equal(faces.length, 1);
});

test('embed stops too', async () => {
  const embedder = new FaceEmbedder({ detector });
  await assert.rejects(embedder.embed(EXAMPLE, { signal: AbortSignal.abort() }), AbortedError);
});
