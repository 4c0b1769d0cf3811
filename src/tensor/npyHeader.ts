// The .npy header is a Python literal (a dict) that NumPy reads with ast.literal_eval. This is a
// parser for the part of Python literal syntax such a header can use, so a header means here
// what it means to NumPy: a repeated key keeps its last value, "..." and '...' are both strings,
// 0x10 and 1_0 are integers, comments and trailing commas are allowed. Anything else is refused.

export type PyValue = string | number | boolean | null | PyValue[] | PyTuple | PyDict | PyFloat;
export class PyTuple { constructor(readonly items: PyValue[]) {} }
export class PyDict { constructor(readonly entries: Map<string | number | boolean | null, PyValue>) {} }
/** Floats are kept apart from integers: a shape of (3.0,) is not valid for NumPy. */
export class PyFloat { constructor(readonly value: number) {} }

export class PyLiteralError extends Error {}

const MAX_DEPTH = 32;

export function parsePyLiteral(text: string): PyValue {
  let at = 0;
  const fail = (what: string): never => { throw new PyLiteralError(`${what} at character ${at}`); };
  // Inside brackets Python joins lines: spaces, tabs, form feeds, newlines and comments may
  // appear anywhere. Other characters that look blank (\v, U+00A0) are syntax errors there.
  const isNewline = (c: string | undefined) => c === '\n' || c === '\r';
  const isBlank = (c: string | undefined) => c === ' ' || c === '\t' || c === '\f';
  const skipComment = () => { if (text[at] === '#') while (at < text.length && !isNewline(text[at])) at++; };
  /** A backslash before a newline joins two lines; it may not end the text. */
  const continuation = () => {
    if (text[at] !== '\\' || !isNewline(text[at + 1])) return false;
    at += text[at + 1] === '\r' && text[at + 2] === '\n' ? 3 : 2;
    if (at >= text.length) fail('unexpected end after a line continuation');
    return true;
  };
  const skip = () => {
    for (;;) {
      while (isBlank(text[at]) || isNewline(text[at]) || continuation()) if (isBlank(text[at]) || isNewline(text[at])) at++;
      if (text[at] !== '#') return;
      skipComment();
    }
  };
  /**
   * Outside brackets a newline ends the line, and the value's line may not be indented. Lines
   * before and after it must be blank (or comments); a last line without a newline may hold
   * blanks only if a form feed brings its column back to 0 (Python's tokenizer, exactly).
   */
  const skipLines = (before: boolean) => {
    for (;;) {
      let column = 0;
      for (;;) {
        if (isBlank(text[at])) column = text[at++] === '\f' ? 0 : column + 1;
        else if (!continuation()) break;
      }
      const comment = text[at] === '#';
      skipComment();
      if (at >= text.length) {
        if (column > 0 && !comment) fail('unexpected indent');
        return;
      }
      if (!isNewline(text[at])) {
        if (before && column > 0) fail('unexpected indent');
        return;
      }
      at += text[at] === '\r' && text[at + 1] === '\n' ? 2 : 1;
    }
  };
  const value = (depth: number): PyValue => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    if (depth > 0) skip();
    const c = text[at];
    if (c === '{' || c === '(' || c === '[') return container(c, depth);
    if (c === "'" || c === '"') return str(c);
    const word = /^[A-Za-z_]\w*/.exec(text.slice(at, at + 64))?.[0];
    if (word) {
      at += word.length;
      if (word === 'True') return true;
      if (word === 'False') return false;
      if (word === 'None') return null;
      return fail(`unexpected name '${word}'`);
    }
    return num();
  };
  const container = (open: string, depth: number): PyValue => {
    const close = open === '{' ? '}' : open === '(' ? ')' : ']';
    at++;
    const items: PyValue[] = [];
    const entries = new Map<string | number | boolean | null, PyValue>();
    let sawComma = false;
    for (;;) {
      skip();
      if (text[at] === close) { at++; break; }
      if (at >= text.length) fail(`unclosed '${open}'`);
      const v = value(depth + 1);
      if (open === '{') {
        if (typeof v === 'object' && v !== null) fail('unhashable dict key');
        skip();
        if (text[at] !== ':') fail("expected ':'");
        at++;
        entries.set(v as string | number | boolean | null, value(depth + 1)); // later keys win, as in Python
      } else items.push(v);
      skip();
      if (text[at] === ',') { at++; sawComma = true; continue; }
      if (text[at] === close) { at++; break; }
      fail(`expected ',' or '${close}'`);
    }
    if (open === '{') return new PyDict(entries);
    if (open === '[') return items;
    // (x) is just x; (x,) and () are tuples.
    return items.length === 1 && !sawComma ? items[0] : new PyTuple(items);
  };
  const str = (quote: string): string => {
    let out = '';
    at++;
    for (;;) {
      if (at >= text.length || isNewline(text[at])) fail('unterminated string');
      const c = text[at++];
      if (c === quote) return out;
      if (c !== '\\') { out += c; continue; }
      const e = text[at++];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };
      if (e in simple) out += simple[e];
      else fail('unsupported escape in string');
    }
  };
  const num = (): PyValue => {
    const m = /^[+-]?[ \t\f]*(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(\d[\d_]*)?(\.[\d_]*)?([eE][+-]?\d+)?)/.exec(text.slice(at, at + 80));
    const raw = m?.[0] ?? '';
    if (!raw || !/\d/.test(raw) || /__|_$|_\.|\._/.test(raw)) return fail('expected a value');
    at += raw.length;
    const sign = raw.trim().startsWith('-') ? -1 : 1;
    const body = raw.replace(/^[+-][ \t\f]*/, '').replace(/_/g, '');
    if (/^0[xXoObB]/.test(body)) return sign * Number(body);
    if (/[.eE]/.test(body)) return new PyFloat(sign * Number(body));
    if (/^0\d/.test(body) && /[1-9]/.test(body)) return fail('leading zeros in an integer');
    return sign * Number(body);
  };
  // ast.literal_eval strips leading spaces and tabs from the text before parsing it.
  while (text[at] === ' ' || text[at] === '\t') at++;
  skipLines(true);
  const v = value(0);
  // The rest of the value's line: blanks and an optional comment, then a newline or the end.
  while (isBlank(text[at]) || continuation()) if (isBlank(text[at])) at++;
  skipComment();
  if (at < text.length && !isNewline(text[at])) fail('unexpected text after the value');
  if (at < text.length) {
    at += text[at] === '\r' && text[at + 1] === '\n' ? 2 : 1;
    skipLines(false);
    if (at !== text.length) fail('unexpected text after the value');
  }
  return v;
}

export interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

/** The header dict checked as numpy.lib.format does: exactly the three keys, with valid values. */
export function parseNpyHeader(text: string): NpyHeader {
  let d: PyValue;
  try {
    d = parsePyLiteral(text);
  } catch (e) {
    throw new PyLiteralError(`cannot parse header ${JSON.stringify(text.trim())}: ${(e as Error).message}`);
  }
  if (!(d instanceof PyDict)) throw new PyLiteralError(`header is not a dictionary: ${text.trim()}`);
  const keys = [...d.entries.keys()].map(String).sort();
  if (keys.join() !== 'descr,fortran_order,shape' || ![...d.entries.keys()].every((k) => typeof k === 'string')) {
    throw new PyLiteralError(`header does not contain the correct keys: [${keys.join(', ')}]`);
  }
  const shape = d.entries.get('shape');
  const fortran = d.entries.get('fortran_order');
  const descr = d.entries.get('descr');
  if (!(shape instanceof PyTuple) || !shape.items.every((x) => typeof x === 'number' && Number.isSafeInteger(x))) {
    throw new PyLiteralError(`shape is not valid: ${text.trim()}`);
  }
  if (shape.items.some((x) => (x as number) < 0)) throw new PyLiteralError('negative dimensions are not allowed');
  if (typeof fortran !== 'boolean') throw new PyLiteralError(`fortran_order is not a valid bool: ${text.trim()}`);
  if (typeof descr !== 'string') throw new PyLiteralError(`descr is not a plain dtype string: ${text.trim()}`);
  return { descr, fortranOrder: fortran, shape: shape.items as number[] };
}
