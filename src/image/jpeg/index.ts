// tsface's JPEG decoder: baseline and progressive, pixels identical to libjpeg-turbo's default
// decompression (PIL, djpeg). Pure TypeScript on Uint8Array, so it also runs in browsers.
export { decodeJpegFrame as decodeJpeg, type DecodedJpeg, type JpegDecodeOptions } from './decoder.ts';
