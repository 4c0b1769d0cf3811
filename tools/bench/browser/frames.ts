// Page side: the pictures every engine of the face rows gets, drawn by the browser once per page:
// a shared photo as it is, and a 640x480 camera-sized frame cut from one (scaled to cover, centred).

export const FRAME = { width: 640, height: 480 };

async function bitmapOf(url: string): Promise<ImageBitmap> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return createImageBitmap(await r.blob());
}

/** A canvas holding the photo at `url`, at its own size, or as a 640x480 frame when `frame`. */
export async function canvasOf(url: string, frame: boolean): Promise<HTMLCanvasElement> {
  const bitmap = await bitmapOf(url);
  const canvas = document.createElement('canvas');
  const [w, h] = frame ? [FRAME.width, FRAME.height] : [bitmap.width, bitmap.height];
  canvas.width = w;
  canvas.height = h;
  const scale = Math.max(w / bitmap.width, h / bitmap.height);
  const [dw, dh] = [bitmap.width * scale, bitmap.height * scale];
  canvas.getContext('2d')!.drawImage(bitmap, (w - dw) / 2, (h - dh) / 2, dw, dh);
  bitmap.close();
  return canvas;
}

export function imageDataOf(canvas: HTMLCanvasElement): ImageData {
  return canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
}

/** A face box as [x1, y1, x2, y2] in the picture's pixels, every engine's converted to this. */
export type Box = [number, number, number, number];

export interface FacesTiming {
  ms: number;
  times: number[];
  width: number;
  height: number;
  boxes: Box[];
  /** Embeddings computed in the last run (one per face each engine could align). */
  embeddings: number;
}
