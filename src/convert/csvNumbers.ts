// Numbers of a CSV weights dump (OpenFace's nn4.small2.v1: one line of %.14g floats per tensor),
// read as strictly as the reference reads them: Python's float() on each comma-separated field.
//
// tsface accepts a subset of what float() accepts, and every number it accepts has float()'s
// value (both round the decimal correctly to a double), then rounded once to float32 as NumPy's
// astype does. Where float() is more lenient, tsface refuses on purpose:
// - inf, infinity, nan, and numbers that overflow to infinity (1e400): a non-finite weight
//   poisons every output it reaches, so no weights file may hold one;
// - numbers beyond float32's range (3.5e38): astype(float32) turns them into infinity;
// - underscores between digits (1_000): Python source syntax, never written by a dump;
// - surrounding blanks other than space, tab, CR, VT and FF, and non-ASCII digits (float()
//   takes Unicode spaces and digits such as '١'): a dump is ASCII.
// Everything float() refuses is refused too: empty fields, 1b1, 0x1, 1e, --1, '1 2'.
import { WeightsError } from '../errors.ts';

/** A field of a CSV dump that is not a number tsface takes; line and field count from 1. */
export class CsvNumberError extends WeightsError {
  constructor(file: string, readonly line: number, readonly field: number, reason: string) {
    super(file, null, `line ${line}, field ${field}: ${reason}`);
  }
}

const FLOAT32_MAX = 3.4028234663852886e38;

const isDigit = (c: number) => c >= 48 && c <= 57;
const isSign = (c: number) => c === 43 || c === 45;
/** The blanks float() strips that a text file may hold: space, tab, CR (CRLF files), VT, FF. */
const isBlank = (c: number) => c === 32 || (c >= 9 && c <= 13 && c !== 10);

/** End of the digits of `s` from `i` (i itself when there are none). */
function digitsEnd(s: string, i: number, end: number): number {
  while (i < end && isDigit(s.charCodeAt(i))) i++;
  return i;
}

/** Whether s[start, end) is a decimal number: [sign] (digits [. [digits]] | . digits) [(e|E) [sign] digits]. */
function isDecimal(s: string, start: number, end: number): boolean {
  let i = start;
  if (i < end && isSign(s.charCodeAt(i))) i++;
  const intEnd = digitsEnd(s, i, end);
  let fracDigits = 0;
  let j = intEnd;
  if (j < end && s.charCodeAt(j) === 46) {
    const fracEnd = digitsEnd(s, j + 1, end);
    fracDigits = fracEnd - j - 1;
    j = fracEnd;
  }
  if (intEnd === i && fracDigits === 0) return false;
  if (j < end && (s.charCodeAt(j) | 32) === 101) {
    j++;
    if (j < end && isSign(s.charCodeAt(j))) j++;
    const expEnd = digitsEnd(s, j, end);
    if (expEnd === j) return false;
    j = expEnd;
  }
  return j === end;
}

/** A token as messages quote it, cut short when long. */
function shown(token: string): string {
  return JSON.stringify(token.length > 40 ? `${token.slice(0, 37)}...` : token);
}

/**
 * The float32 value of one field, s[start, end) with its blanks, or why it is refused. Exported
 * for the test that holds it to Python's float() token by token.
 */
export function csvNumber(s: string, start = 0, end = s.length): number | string {
  while (start < end && isBlank(s.charCodeAt(start))) start++;
  while (end > start && isBlank(s.charCodeAt(end - 1))) end--;
  if (start === end) return 'empty field';
  const token = s.slice(start, end);
  if (!isDecimal(s, start, end)) return `${shown(token)} is not a decimal number`;
  const value = Number(token);
  if (!Number.isFinite(value)) return `${shown(token)} overflows to infinity; weights must be finite`;
  const f = Math.fround(value);
  if (!(Math.abs(f) <= FLOAT32_MAX)) return `${shown(token)} is beyond float32's range`;
  return f;
}

/**
 * The numbers of a CSV dump, in order: lines end at '\n' (the last one may end the text), fields
 * are separated by ','. Every field must be a number (an empty line is one empty field), and
 * there must be exactly `expected` of them; anything else is a CsvNumberError or WeightsError.
 */
export function parseCsvNumbers(text: string, file: string, expected: number): Float32Array {
  const out = new Float32Array(expected);
  const body = text.endsWith('\n') ? text.length - 1 : text.length;
  let count = 0;
  if (body > 0) {
    let line = 1, field = 1, start = 0;
    for (let i = 0; i <= body; i++) {
      const c = i < body ? text.charCodeAt(i) : 10;
      if (c !== 44 && c !== 10) continue;
      const v = csvNumber(text, start, i);
      if (typeof v === 'string') throw new CsvNumberError(file, line, field, v);
      if (count < expected) out[count] = v;
      count++;
      start = i + 1;
      if (c === 10) { line++; field = 1; } else field++;
    }
  }
  if (count !== expected) throw new WeightsError(file, null, `holds ${count} values, expected ${expected}`);
  return out;
}
