// A decoding thread: reads and decodes one image per message and hands the pixels back
// (transferred, not copied), so decoding the next images overlaps the nets on the current one.
import { parentPort } from 'node:worker_threads';
import { toRgbImage } from '../image/decode.ts';
import { TsfaceError } from '../errors.ts';

export interface DecodeRequest {
  id: number;
  path: string;
  maxPixels?: number;
}

export type DecodeReply =
  | { id: number; width: number; height: number; data: Uint8Array }
  | { id: number; error: string; typed: boolean };

parentPort!.on('message', (m: DecodeRequest) => {
  try {
    const img = toRgbImage(m.path, { maxPixels: m.maxPixels });
    const reply: DecodeReply = { id: m.id, width: img.width, height: img.height, data: img.data };
    parentPort!.postMessage(reply, [img.data.buffer as ArrayBuffer]);
  } catch (e) {
    const reply: DecodeReply = { id: m.id, error: (e as Error).message, typed: e instanceof TsfaceError };
    parentPort!.postMessage(reply);
  }
});
