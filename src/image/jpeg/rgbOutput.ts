// A frame's RGB output, written a band of rows at a time. When one sequential scan carries every
// component (baseline files as cameras write them), each row of MCUs is colour-converted as soon
// as the scan has put it in the planes, so a plane needs to hold only two rows of MCUs (the
// upsampling reads one component row above and below) instead of the whole component: at 12
// megapixels 4:2:0, 18 MB of planes become 0.2 MB. Other files (components in separate scans,
// progressive) fill whole planes first and are converted at the end, through the same code.
import type { ColorSpace } from './color.ts';
import { colorRows } from './color.ts';
import type { Frame } from './frame.ts';
import { rowSource } from './upsample.ts';
import { isYcc420, ycc420Rows } from './ycc420.ts';

export class RgbOutput {
  /** width * height * 3 bytes, RGB, rows top to bottom. */
  readonly data: Uint8Array;
  private readonly write: (y0: number, y1: number) => void;
  /** The first image row not yet written. */
  private written = 0;
  /** Image rows per row of the scan (an MCU row, or a block row of a one-component frame). */
  private readonly rowsPerScanRow: number;
  /** The most rows any component is upsampled vertically: rows that close to the band's end wait for the next band. */
  private readonly lookahead: number;

  constructor(private readonly frame: Frame, space: ColorSpace) {
    this.data = new Uint8Array(frame.width * frame.height * 3);
    this.write = isYcc420(frame, space)
      ? ycc420Rows(frame, this.data)
      : colorRows(space, frame.components.map((c) => rowSource(c, frame)), frame.width, this.data);
    this.rowsPerScanRow = frame.components.length > 1 ? 8 * frame.vMax : 8;
    this.lookahead = Math.max(...frame.components.map((c) => frame.vMax / c.v));
  }

  /** Planes of two scan rows each, for a scan that carries every component: row r of a component at r % planeRows. */
  static ringPlanes(frame: Frame): void {
    for (const c of frame.components) {
      c.planeRows = 2 * (frame.components.length > 1 ? 8 * c.v : 8);
      c.plane = new Uint8Array(c.paddedBlocksWide * 8 * c.planeRows);
    }
  }

  /** Whole planes, for files whose components are filled in separate scans. */
  static wholePlanes(frame: Frame): void {
    for (const c of frame.components) {
      c.planeRows = c.paddedBlocksHigh * 8;
      c.plane = new Uint8Array(c.paddedBlocksWide * 8 * c.planeRows);
    }
  }

  /**
   * Scan row `row` is in the planes: writes every image row whose samples are all there. An
   * output row reads component row floor(y / ratio) and its neighbours, so rows up to
   * `lookahead` short of the band's end wait; the last scan row lets every row go.
   */
  scanRowDone(row: number, last: boolean): void {
    const end = last ? this.frame.height : Math.min(this.frame.height, (row + 1) * this.rowsPerScanRow - this.lookahead);
    if (end > this.written) {
      this.write(this.written, end);
      this.written = end;
    }
  }

  /** Writes the rows not yet written (all of them, for whole planes) and returns the pixels. */
  finish(): Uint8Array {
    this.scanRowDone(0, true);
    return this.data;
  }
}
