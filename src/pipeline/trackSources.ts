// Where a tracker's frames come from. An iterable gives every item, in order, when the tracker
// asks for the next. A <video> element or a MediaStream is live: frames keep coming whether the
// tracker is ready or not, so each time it asks it gets the newest frame shown since, and the
// ones in between are counted as dropped, never queued (a queue would fall further behind the
// camera with every frame slower than the camera's rate).
import { ArgumentError, PlatformError } from '../errors.ts';
import type { ImageInput, RgbImage } from '../image/rgbImage.ts';

/** A <video> element, a MediaStream (a camera's), or frames one by one: anything detect() takes, sync or async. */
export type TrackSource = HTMLVideoElement | MediaStream | AsyncIterable<ImageInput> | Iterable<ImageInput>;

export interface SourceFrame {
  /** The frame as the source gave it (an iterable's item)... */
  input?: ImageInput;
  /** ...or already as 8-bit RGB (a video's frame, read from a canvas). */
  rgb?: RgbImage;
  /** Source frames skipped since the previous one taken (always 0 for an iterable). */
  dropped: number;
  /** The frame's media time in seconds, when the source says. */
  time?: number;
}

export interface SourceOptions {
  /**
   * How a MediaStream is read: 'processor' (MediaStreamTrackProcessor: frames as the camera
   * delivers them), 'video' (an offscreen <video> playing the stream), or 'auto' (default: the
   * processor where the browser has one, else the video).
   */
  streamReader?: 'auto' | 'processor' | 'video';
}

const isVideo = (s: unknown): s is HTMLVideoElement => typeof HTMLVideoElement !== 'undefined' && s instanceof HTMLVideoElement;
const isStream = (s: unknown): s is MediaStream => typeof MediaStream !== 'undefined' && s instanceof MediaStream;

/** The frames of `source`; return() on the iterator stops reading and frees what the reader made. */
export function sourceFrames(source: TrackSource, options: SourceOptions = {}): AsyncIterator<SourceFrame> {
  if (isVideo(source)) return videoFrames(source, false);
  if (isStream(source)) {
    const reader = options.streamReader ?? 'auto';
    if (!['auto', 'processor', 'video'].includes(reader)) throw new ArgumentError(`streamReader must be 'auto', 'processor' or 'video', got ${JSON.stringify(reader)}`);
    const Processor = (globalThis as { MediaStreamTrackProcessor?: ProcessorClass }).MediaStreamTrackProcessor;
    if (reader === 'processor' && !Processor) throw new PlatformError('this browser has no MediaStreamTrackProcessor (use streamReader: \'video\')');
    if (reader !== 'video' && Processor) return processorFrames(source, Processor);
    return streamVideoFrames(source);
  }
  if (source && typeof (source as AsyncIterable<ImageInput>)[Symbol.asyncIterator] === 'function') return iterableFrames((source as AsyncIterable<ImageInput>)[Symbol.asyncIterator]());
  if (source && typeof (source as Iterable<ImageInput>)[Symbol.iterator] === 'function' && typeof source !== 'string' && !(source instanceof Uint8Array)) {
    return iterableFrames((source as Iterable<ImageInput>)[Symbol.iterator]());
  }
  throw new ArgumentError('track() takes a <video> element, a MediaStream, or an iterable of images (one image: use detect())');
}

function iterableFrames(items: Iterator<ImageInput> | AsyncIterator<ImageInput>): AsyncIterator<SourceFrame> {
  return {
    async next() {
      const r = await items.next();
      return r.done ? { done: true, value: undefined } : { done: false, value: { input: r.value, dropped: 0 } };
    },
    async return() {
      await items.return?.();
      return { done: true, value: undefined };
    },
  };
}

/** Reads drawn frames as RGB through one reused canvas. */
class FrameReader {
  private canvas: OffscreenCanvas | null = null;
  private ctx: OffscreenCanvasRenderingContext2D | null = null;

  read(image: CanvasImageSource, width: number, height: number): RgbImage {
    if (!width || !height) throw new PlatformError('the video has no frame yet (0x0)');
    if (!this.canvas || this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas = new OffscreenCanvas(width, height);
      this.ctx = this.canvas.getContext('2d', { willReadFrequently: true });
      if (!this.ctx) throw new PlatformError('no 2D canvas context to read video frames with');
    }
    this.ctx!.drawImage(image, 0, 0, width, height);
    const rgba = this.ctx!.getImageData(0, 0, width, height).data;
    const data = new Uint8Array(width * height * 3);
    for (let i = 0, j = 0; j < data.length; i += 4, j += 3) {
      data[j] = rgba[i];
      data[j + 1] = rgba[i + 1];
      data[j + 2] = rgba[i + 2];
    }
    return { width, height, data };
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A playing <video>'s newest frame each time: requestVideoFrameCallback, where the browser has
 * it, says when a new frame is shown and how many have been (presentedFrames, so the dropped
 * ones are counted); elsewhere a new currentTime is taken as a new frame and the drops are not
 * known (counted as 0). Ends when the video ends. `owned`: the element was made here (for a
 * MediaStream) and is removed at the end.
 */
function videoFrames(video: HTMLVideoElement, owned: boolean): AsyncIterator<SourceFrame> {
  const reader = new FrameReader();
  let stopped = false;
  let presented = 0;
  let mediaTime = -1;
  let taken = -1;
  let takenTime = -1;
  let wake = null as (() => void) | null;
  const rvfc = typeof video.requestVideoFrameCallback === 'function';
  let handle = 0;
  const onFrame = (_now: number, meta: VideoFrameCallbackMetadata) => {
    presented = meta.presentedFrames;
    mediaTime = meta.mediaTime;
    wake?.();
    if (!stopped) handle = video.requestVideoFrameCallback(onFrame);
  };
  if (rvfc) handle = video.requestVideoFrameCallback(onFrame);
  const stop = () => {
    stopped = true;
    if (rvfc) video.cancelVideoFrameCallback(handle);
    wake?.();
    if (owned) {
      video.pause();
      video.srcObject = null;
      video.remove();
    }
  };
  return {
    async next() {
      for (;;) {
        if (stopped || video.ended) {
          stop();
          return { done: true, value: undefined };
        }
        const fresh = rvfc ? presented > taken : video.readyState >= 2 && video.currentTime !== takenTime;
        if (fresh && video.readyState >= 2) {
          const dropped = rvfc && taken >= 0 ? Math.max(0, presented - taken - 1) : 0;
          taken = presented;
          takenTime = video.currentTime;
          const rgb = reader.read(video, video.videoWidth, video.videoHeight);
          return { done: false, value: { rgb, dropped, time: rvfc ? mediaTime : takenTime } };
        }
        // A paused video or one between frames: wait for the next frame callback, or look again
        // shortly (a paused or ended video shows no frames, and no callback would come).
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), sleep(rvfc ? 250 : 8)]);
        wake = null;
      }
    },
    async return() {
      stop();
      return { done: true, value: undefined };
    },
  };
}

/** A MediaStream played by a muted <video> made for it (kept in the page, invisible, so the browser keeps presenting its frames). */
function streamVideoFrames(stream: MediaStream): AsyncIterator<SourceFrame> {
  if (typeof document === 'undefined') throw new PlatformError('reading a MediaStream needs a page (a document to play it in) or MediaStreamTrackProcessor');
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = stream;
  video.style.cssText = 'position:fixed;left:0;top:0;width:2px;height:2px;opacity:0;pointer-events:none';
  document.body.appendChild(video);
  const frames = videoFrames(video, true);
  let started: Promise<void> | null = null;
  return {
    async next() {
      started ??= video.play().catch((e: Error) => {
        frames.return?.();
        throw new PlatformError(`the stream's video would not play: ${e.message}`);
      });
      await started;
      return frames.next();
    },
    return: () => frames.return!(),
  };
}

interface VideoFrameLike {
  displayWidth: number;
  displayHeight: number;
  timestamp: number;
  close(): void;
}
type ProcessorClass = new (init: { track: MediaStreamTrack; maxBufferSize?: number }) => { readable: ReadableStream<VideoFrameLike> };

/**
 * A MediaStream's first video track through MediaStreamTrackProcessor: a reader takes every
 * frame as the camera delivers it and keeps only the newest (closing the one it replaces, a
 * dropped frame), so the tracker, when ready, gets the newest without waiting for the next.
 * While the tracker computes on this thread the reader cannot run and the processor drops
 * frames itself, unseen; so the drops are also counted from the frames' timestamps, at the
 * shortest interval seen between two frames read one after the other (else the track's frame
 * rate), and the larger count is given.
 */
function processorFrames(stream: MediaStream, Processor: ProcessorClass): AsyncIterator<SourceFrame> {
  const track = stream.getVideoTracks()[0];
  if (!track) throw new ArgumentError('the MediaStream has no video track');
  const frames = new Processor({ track }).readable.getReader();
  const reader = new FrameReader();
  let latest: VideoFrameLike | null = null;
  let dropped = 0;
  let lastTimestamp: number | null = null;
  let lastRead: number | null = null;
  const frameRate = track.getSettings().frameRate ?? 0;
  let interval = frameRate > 0 ? 1e6 / frameRate : Infinity;
  let done = false;
  let failure: unknown = null;
  let wake = null as (() => void) | null;
  const pump = (async () => {
    try {
      for (;;) {
        const r = await frames.read();
        if (r.done) break;
        if (latest) {
          latest.close();
          dropped++;
        }
        latest = r.value;
        if (lastRead !== null && latest.timestamp > lastRead) interval = Math.min(interval, latest.timestamp - lastRead);
        lastRead = latest.timestamp;
        wake?.();
      }
    } catch (e) {
      failure = e;
    }
    done = true;
    wake?.();
  })();
  const stop = async () => {
    done = true;
    await frames.cancel().catch(() => {});
    await pump;
    latest?.close();
    latest = null;
  };
  return {
    async next() {
      while (!latest && !done) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
      if (!latest) {
        await stop();
        if (failure) throw new PlatformError(`the camera stream failed: ${(failure as Error).message ?? failure}`);
        return { done: true, value: undefined };
      }
      const frame = latest;
      latest = null;
      const gap = lastTimestamp === null || !Number.isFinite(interval) ? 0 : Math.round((frame.timestamp - lastTimestamp) / interval) - 1;
      const skipped = Math.max(dropped, gap, 0);
      dropped = 0;
      lastTimestamp = frame.timestamp;
      try {
        const rgb = reader.read(frame as unknown as CanvasImageSource, frame.displayWidth, frame.displayHeight);
        return { done: false, value: { rgb, dropped: skipped, time: frame.timestamp / 1e6 } };
      } finally {
        frame.close();
      }
    },
    async return() {
      await stop();
      return { done: true, value: undefined };
    },
  };
}
