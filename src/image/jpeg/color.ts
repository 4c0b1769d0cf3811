// Full-resolution component rows to RGB. YCbCr uses libjpeg's 16-bit fixed-point tables, so the
// results round exactly as libjpeg-turbo's. Four-component files become RGB as PIL does it:
// libjpeg turns YCCK into CMYK, PIL inverts the CMYK values (it assumes Adobe's inverted storage
// whether or not the file has an Adobe segment) and then computes R = (255 - K) - C * (255 - K) / 255
// with its own rounding.
import { ImageError } from '../../errors.ts';
import type { Frame, Tables } from './frame.ts';
import type { RowSource } from './upsample.ts';
import { wordView, yccRow } from './yccRow.ts';
import { CB_B, CB_G, CR_G, CR_R, LIMIT } from './yccTables.ts';

export type ColorSpace = 'gray' | 'ycbcr' | 'rgb' | 'cmyk' | 'ycck';

/** The colour space libjpeg assumes from the component count, JFIF/Adobe markers and component ids. */
export function colorSpaceOf(frame: Frame, tables: Tables): ColorSpace {
  const ids = frame.components.map((c) => c.id);
  switch (frame.components.length) {
    case 1: return 'gray';
    case 3:
      if (tables.jfif) return 'ycbcr';
      if (tables.adobeTransform >= 0) return tables.adobeTransform === 0 ? 'rgb' : 'ycbcr';
      return ids[0] === 82 && ids[1] === 71 && ids[2] === 66 ? 'rgb' : 'ycbcr';
    case 4:
      if (tables.adobeTransform >= 0) return tables.adobeTransform === 0 ? 'cmyk' : 'ycck';
      return 'cmyk';
    default:
      throw new ImageError(`unsupported JPEG: ${frame.components.length} colour components`);
  }
}

/** PIL's a * b / 255, rounded its way. */
function mulDiv255(a: number, b: number): number {
  const t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

function grayRow(d0: Uint8Array, a0: number, width: number, out: Uint8Array, o: number): void {
  for (let x = 0; x < width; x++, o += 3) {
    const v = d0[a0 + x];
    out[o] = v; out[o + 1] = v; out[o + 2] = v;
  }
}

function rgbRow(d0: Uint8Array, a0: number, d1: Uint8Array, a1: number, d2: Uint8Array, a2: number, width: number, out: Uint8Array, o: number): void {
  for (let x = 0; x < width; x++, o += 3) {
    out[o] = d0[a0 + x]; out[o + 1] = d1[a1 + x]; out[o + 2] = d2[a2 + x];
  }
}

function cmykRow(ycck: boolean, d0: Uint8Array, a0: number, d1: Uint8Array, a1: number, d2: Uint8Array, a2: number, d3: Uint8Array, a3: number, width: number, out: Uint8Array, o: number): void {
  for (let x = 0; x < width; x++, o += 3) {
    // PIL's inverted C, M, Y. From YCCK, libjpeg's CMYK is 255 minus the YCbCr->RGB result,
    // so the inversion gives that result back.
    let c: number, m: number, ye: number;
    if (ycck) {
      const yy = d0[a0 + x] + 256;
      const cb = d1[a1 + x];
      const cr = d2[a2 + x];
      c = LIMIT[yy + CR_R[cr]];
      m = LIMIT[yy + ((CB_G[cb] + CR_G[cr]) >> 16)];
      ye = LIMIT[yy + CB_B[cb]];
    } else {
      c = 255 - d0[a0 + x]; m = 255 - d1[a1 + x]; ye = 255 - d2[a2 + x];
    }
    const nk = d3[a3 + x];
    out[o] = Math.max(0, nk - mulDiv255(c, nk));
    out[o + 1] = Math.max(0, nk - mulDiv255(m, nk));
    out[o + 2] = Math.max(0, nk - mulDiv255(ye, nk));
  }
}

/** Writes image rows [y0, y1) of `out` (width * 3 bytes a row) from the components' row sources. */
export function colorRows(space: ColorSpace, sources: RowSource[], width: number, out: Uint8Array): (y0: number, y1: number) => void {
  const out32 = space === 'ycbcr' ? wordView(out) : null;
  return (y0, y1) => convertRows(space, sources, width, out, out32, y0, y1);
}

function convertRows(space: ColorSpace, sources: RowSource[], width: number, out: Uint8Array, out32: Int32Array | null, y0: number, y1: number): void {
  const [s0, s1, s2, s3] = sources;
  for (let y = y0, o = y0 * width * 3; y < y1; y++, o += width * 3) {
    const a0 = s0.row(y);
    if (space === 'gray') { grayRow(s0.data, a0, width, out, o); continue; }
    const a1 = s1.row(y);
    const a2 = s2.row(y);
    if (space === 'ycbcr') yccRow(s0.data, a0, s1.data, a1, s2.data, a2, width, out, out32, o);
    else if (space === 'rgb') rgbRow(s0.data, a0, s1.data, a1, s2.data, a2, width, out, o);
    else cmykRow(space === 'ycck', s0.data, a0, s1.data, a1, s2.data, a2, s3.data, s3.row(y), width, out, o);
  }
}
