// Walks the marker segments of a JPEG, decodes its scans as they come, and assembles RGB.
// Anything libjpeg-turbo would have to guess at (data shorter or longer than the frame, missing
// tables, scans out of order) is refused with an ImageError rather than decoded into pixels
// that no other decoder would give.
import { ImageError } from '../../errors.ts';
import { colorSpaceOf, type ColorSpace } from './color.ts';
import { buildHuffmanTable } from './huffman.ts';
import { huffmanSegments, parseFrame, parseQuantTables, type Frame, type Tables } from './frame.ts';
import { checkProgressionComplete, checkProgressiveScan, progressiveDecoder, transformCoefficients, type BandState } from './progressive.ts';
import { runScan, type Scan } from './scan.ts';
import { checkSequentialScan, sequentialDecoder } from './sequential.ts';
import { runSequentialRows } from './sequentialRows.ts';
import { idctSimdAvailable } from './idctSimd.ts';
import { RgbOutput } from './rgbOutput.ts';

export interface JpegDecodeOptions {
  /** Refuse frames with more pixels than this before allocating anything for them (default 4096 x 4096, decodeImage's default). */
  maxPixels?: number;
}

export interface DecodedJpeg {
  width: number;
  height: number;
  /** width * height * 3 bytes, RGB, rows top to bottom. */
  data: Uint8Array;
}

const ASCII = (data: Uint8Array, at: number, n: number) => String.fromCharCode(...data.subarray(at, at + n));

/**
 * Each block of a sequential scan takes at least 2 bits and each block of a progressive file's
 * first DC scan at least 1, so a file smaller than that cannot hold the frame it declares:
 * refused before any pixel memory is allocated.
 */
function checkDataCanFill(frame: Frame, fileBytes: number): void {
  let blocks = 0;
  for (const c of frame.components) blocks += c.blocksWide * c.blocksHigh;
  const minBits = blocks * (frame.progressive ? 1 : 2);
  if (minBits > fileBytes * 8) {
    throw new ImageError(`corrupt JPEG: ${frame.width}x${frame.height} needs at least ${Math.ceil(minBits / 8)} bytes of image data, the file has ${fileBytes}`);
  }
}

/**
 * Progressive scans need every coefficient before any sample (2 bytes a sample, turned into
 * the plane in place at the end). Sequential scans write samples straight to the planes, which
 * are made when the first scan shows whether it carries every component (rgbOutput.ts).
 */
function allocateCoefficients(frame: Frame): void {
  for (const c of frame.components) {
    c.coefficients = new Int16Array(c.paddedBlocksWide * c.paddedBlocksHigh * 64);
    c.lastNonzero = new Uint8Array(c.paddedBlocksWide * c.paddedBlocksHigh);
  }
}

/**
 * The first sequential scan: when it carries every component, the RGB output is written as its
 * rows of MCUs complete, from planes of two MCU rows; otherwise whole planes are filled first.
 * Returns the output being written, or null.
 */
function startSequential(frame: Frame, scan: Scan, space: ColorSpace): RgbOutput | null {
  if (scan.components.length < frame.components.length) {
    RgbOutput.wholePlanes(frame);
    return null;
  }
  RgbOutput.ringPlanes(frame);
  return new RgbOutput(frame, space);
}

function readScanHeader(data: Uint8Array, at: number, length: number, frame: Frame, tables: Tables): Scan {
  const count = data[at];
  if (count < 1 || count > 4 || length !== 4 + 2 * count) throw new ImageError('corrupt JPEG: scan header length does not match its component count');
  const scan: Scan = { components: [], dc: [], ac: [], ss: 0, se: 0, ah: 0, al: 0 };
  for (let i = 0; i < count; i++) {
    const id = data[at + 1 + 2 * i];
    const c = frame.components.find((k) => k.id === id);
    if (!c) throw new ImageError(`corrupt JPEG: scan names component ${id}, which the frame does not have`);
    if (scan.components.includes(c)) throw new ImageError(`corrupt JPEG: scan names component ${id} twice`);
    const td = data[at + 2 + 2 * i] >> 4;
    const ta = data[at + 2 + 2 * i] & 15;
    if (td > 3 || ta > 3) throw new ImageError('corrupt JPEG: scan names a Huffman table slot over 3');
    scan.components.push(c);
    scan.dc.push(tables.dc[td]);
    scan.ac.push(tables.ac[ta]);
  }
  const p = at + 1 + 2 * count;
  scan.ss = data[p];
  scan.se = data[p + 1];
  scan.ah = data[p + 2] >> 4;
  scan.al = data[p + 2] & 15;
  if (count > 1) {
    let blocks = 0;
    for (const c of scan.components) blocks += c.h * c.v;
    if (blocks > 10) throw new ImageError(`corrupt JPEG: interleaved scan of ${blocks} blocks per MCU (at most 10)`);
  }
  for (const c of scan.components) {
    if (c.scanned && !frame.progressive) throw new ImageError(`corrupt JPEG: component ${c.id} appears in two sequential scans`);
    if (!c.scanned) {
      // libjpeg takes a component's quantisation table when its first scan starts.
      const q = tables.quant[c.tq];
      if (!q) throw new ImageError(`not a JPEG: missing quantisation table ${c.tq}`);
      c.quant = q;
      c.scanned = true;
    }
  }
  return scan;
}

export function decodeJpegFrame(data: Uint8Array, options: JpegDecodeOptions = {}): DecodedJpeg {
  const maxPixels = options.maxPixels ?? 4096 * 4096;
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) throw new ImageError('not a JPEG: no start-of-image marker');
  const tables: Tables = { quant: [null, null, null, null], dc: [null, null, null, null], ac: [null, null, null, null], restartInterval: 0, adobeTransform: -1, jfif: false };
  let frame: Frame | null = null;
  let pos = 2;
  let sawEnd = false;
  let scans = 0;
  // libjpeg settles the colour space at the first scan; markers after it do not change it.
  let space: ColorSpace | null = null;
  let streamed: RgbOutput | null = null;
  while (pos < data.length) {
    // Bytes that are not a marker between segments are skipped, as libjpeg does (with a warning).
    if (data[pos] !== 0xff) { pos++; continue; }
    let mpos = pos + 1;
    while (mpos < data.length && data[mpos] === 0xff) mpos++;
    if (mpos >= data.length) break;
    const marker = data[mpos];
    pos = mpos + 1;
    if (marker === 0) continue;
    if (marker === 0xd9) { sawEnd = true; break; }
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue;
    if (marker === 0xd8) throw new ImageError('corrupt JPEG: second start-of-image marker');
    if (pos + 2 > data.length) throw new ImageError('truncated JPEG: marker segment cut short');
    const length = ((data[pos] << 8) | data[pos + 1]) - 2;
    const at = pos + 2;
    if (length < 0 || at + length > data.length) throw new ImageError(`truncated JPEG: segment 0x${marker.toString(16)} runs past the end of the file`);
    pos = at + length;
    if (marker === 0xdb) {
      parseQuantTables(data, at, pos, tables);
    } else if (marker === 0xc4) {
      for (const t of huffmanSegments(data, at, pos)) (t.ac ? tables.ac : tables.dc)[t.slot] = buildHuffmanTable(t.counts, t.symbols, !t.ac);
    } else if (marker === 0xdd) {
      if (length !== 2) throw new ImageError('corrupt JPEG: restart interval segment of the wrong length');
      tables.restartInterval = (data[at] << 8) | data[at + 1];
    } else if (marker === 0xe0) {
      if (length >= 14 && ASCII(data, at, 5) === 'JFIF\0') tables.jfif = true;
    } else if (marker === 0xee) {
      if (length >= 12 && ASCII(data, at, 5) === 'Adobe') tables.adobeTransform = data[at + 11];
    } else if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (frame) throw new ImageError('corrupt JPEG: second frame header');
      frame = parseFrame(data, at, length, marker, maxPixels);
      if (![1, 3, 4].includes(frame.components.length)) throw new ImageError(`unsupported JPEG: ${frame.components.length} colour components (1, 3 or 4)`);
      checkDataCanFill(frame, data.length);
      if (frame.progressive) allocateCoefficients(frame);
    } else if (marker === 0xda) {
      if (!frame) throw new ImageError('corrupt JPEG: scan before the frame header');
      const scan = readScanHeader(data, at, length, frame, tables);
      for (const c of scan.components) c.dcPredictor = 0;
      if (scans === 0) {
        space = colorSpaceOf(frame, tables);
        if (!frame.progressive) streamed = startSequential(frame, scan, space);
      }
      if (frame.progressive) {
        checkProgressiveScan(scan);
        const band: BandState = { eobrun: 0 };
        pos = runScan(data, pos, frame, scan, tables.restartInterval, progressiveDecoder(scan, band), () => { band.eobrun = 0; });
      } else {
        checkSequentialScan(scan);
        const output = scans === 0 ? streamed : null;
        const lastRow = scan.components.length > 1 ? frame.mcusHigh - 1 : scan.components[0].blocksHigh - 1;
        const rowDone = output ? (row: number) => output.scanRowDone(row, row === lastRow) : undefined;
        pos = idctSimdAvailable()
          ? runSequentialRows(data, pos, frame, scan, tables.restartInterval, rowDone)
          : runScan(data, pos, frame, scan, tables.restartInterval, sequentialDecoder(scan), () => {}, rowDone);
      }
      scans++;
    } else if ((marker >= 0xe0 && marker <= 0xef) || marker === 0xfe) {
      // Application data and comments: nothing the pixels depend on.
    } else {
      throw new ImageError(`corrupt JPEG: unexpected marker 0x${marker.toString(16)}`);
    }
  }
  if (!frame) throw new ImageError('not a JPEG: no frame header');
  if (scans === 0) throw new ImageError('truncated JPEG: no image data');
  const missing = frame.components.find((c) => !c.scanned);
  if (missing) throw new ImageError(`truncated JPEG: component ${missing.id} has no image data`);
  if (frame.progressive) {
    // A sequential file's data is complete once every component is scanned; progressive data
    // could always go on, so there the end-of-image marker must be present.
    if (!sawEnd) throw new ImageError('truncated JPEG: no end-of-image marker after the progressive scans');
    checkProgressionComplete(frame.components);
    for (const c of frame.components) transformCoefficients(c);
  }
  const output = streamed ?? new RgbOutput(frame, space!);
  return { width: frame.width, height: frame.height, data: output.finish() };
}
