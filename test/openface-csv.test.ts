// OpenFace CSV numbers: held token by token to Python's float() (the reference reader, through
// tools/reference/float_tokens.py run here), and whole dumps refused with line and field.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CsvNumberError, csvNumber, parseCsvNumbers } from '../src/convert/csvNumbers.ts';
import { parseCsvTensor } from '../src/convert/openface.ts';
import { WeightsError } from '../src/errors.ts';
import { Rng } from '../tools/fuzz/mutate.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../tools/reference/float_tokens.py', import.meta.url));

const LISTED = [
  '1', '-1', '+1.5', ' 1.5 ', '\t2\t', '1.5\r', '\r1.5', '\x0b3\x0c', '1.', '.5', '+.5', '-.5e-3', '.', '.e5', '1.e5', '5.E+3',
  '1e5', '1E-5', '1e+5', '1e', 'e5', '1e+', '1e5.0', '1b1', '0x1', '0X1F', '0b1', '0o7', '--1', '+-1', '1-', '-', '+', ' ', '', '1 2',
  'inf', '-inf', 'Infinity', 'infinity', 'nan', 'NaN', '+nan', 'iNf', '1_000', '1__0', '_1', '1_', '1e1_0', '1._5',
  '\u0661', '\u0661.\u0665', '\u00a01', '1\u2003', '\x1c1', '\x001', '1e400', '-1e400', '3.5e38', '-3.4028235e38', '3.4028234663852886e38',
  '3.4028235677973366e38', '1e-50', '4.9e-324', '0.074328526854515', '-0.0', '00012', '1e0001', '1.5f', '1d5', '0.1e-00', '9'.repeat(400),
  `0.${'0'.repeat(330)}1`, '1e-400', '١e5',
];

/** Deterministic tokens from the characters a broken or hostile dump holds. */
function randomTokens(n: number): string[] {
  const alphabet = '0123456789.eE+-_ \txabinfINFd\u0661';
  const rng = new Rng(2028);
  return Array.from({ length: n }, () => Array.from({ length: 1 + rng.below(7) }, () => alphabet[rng.below(alphabet.length)]).join(''));
}

/** Where tsface refuses what float() accepts, on purpose (csvNumbers.ts says why). */
function stricterOnPurpose(token: string, python: string): boolean {
  const value = Number(python === 'inf' || python === '-inf' ? python.replace('inf', 'Infinity') : python);
  return token.includes('_') || /[^\x00-\x7f]/.test(token) || !Number.isFinite(value) || !Number.isFinite(Math.fround(value));
}

test('CSV numbers: tsface accepts a subset of Python float(), with its values rounded to float32', { skip: existsSync(PYTHON) ? false : `SKIPPING: ${PYTHON} absent, the CSV numbers are not compared with Python's float()` }, () => {
  const tokens = [...LISTED, ...randomTokens(3000)];
  const r = spawnSync(PYTHON, [SCRIPT], { input: JSON.stringify(tokens), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const python: (string | null)[] = JSON.parse(r.stdout);
  let accepted = 0, stricter = 0;
  tokens.forEach((token, i) => {
    const ours = csvNumber(token);
    const theirs = python[i];
    const what = `${JSON.stringify(token)}: tsface ${typeof ours === 'number' ? ours : `refuses (${ours})`}, float() ${theirs ?? 'refuses'}`;
    if (typeof ours === 'number') {
      assert.notEqual(theirs, null, what);
      assert.ok(Object.is(ours, Math.fround(Number(theirs))), what);
      accepted++;
    } else if (theirs !== null) {
      assert.ok(stricterOnPurpose(token, theirs), what);
      stricter++;
    }
  });
  // The comparison means something only if both sides occur often.
  assert.ok(accepted > 100 && stricter > 10, `${accepted} accepted, ${stricter} refused on purpose`);
});

test('the documented cases: what float() refuses and where tsface is stricter', () => {
  for (const token of ['', ' ', '1b1', '0x1', '1e', '--1', '1 2', '.']) assert.match(String(csvNumber(token)), token.trim() ? /not a decimal number/ : /empty field/, token);
  for (const token of ['inf', 'nan', '1e400']) assert.match(String(csvNumber(token)), /not a decimal number|overflows/, token);
  assert.match(String(csvNumber('3.5e38')), /beyond float32's range/);
  assert.match(String(csvNumber('1_000')), /not a decimal number/);
  assert.equal(csvNumber(' +1.5\r'), 1.5);
  assert.equal(csvNumber('4e-3'), Math.fround(0.004));
});

test('a dump with a bad field is refused with its line and field', () => {
  const refused = (text: string, line: number, field: number, reason: RegExp) => assert.throws(() => parseCsvNumbers(text, 'w.csv', 6), (e: unknown) => e instanceof CsvNumberError && e.code === 'E_WEIGHTS' && e.line === line && e.field === field && reason.test(e.message) && e.message.startsWith(`w.csv: line ${line}, field ${field}: `), JSON.stringify(text));
  refused('1,2,,3,4,5\n', 1, 3, /empty field/);
  refused('1,2,3\n4,5,6,\n', 2, 4, /empty field/);
  refused('1,2,3\n\n4,5,6\n', 2, 1, /empty field/);
  refused('1,2,3\n4,1b1,6', 2, 2, /"1b1" is not a decimal number/);
  refused('0x1,2,3,4,5,6', 1, 1, /"0x1"/);
  refused('1 2 3 4 5 6\n', 1, 1, /"1 2 3 4 5 6" is not a decimal number/);
  refused('1,2,3,4,5,nan', 1, 6, /"nan"/);
  refused('1,2,3,4,5,6\n\n', 2, 1, /empty field/);
  // Only the one newline that ends the last line is not a field.
  assert.deepEqual(Array.from(parseCsvNumbers('0.5,-1.25,3\n4e-3,5,6\n', 'w.csv', 6)), [0.5, -1.25, 3, Math.fround(4e-3), 5, 6]);
  assert.deepEqual(Array.from(parseCsvNumbers('0.5, -1.25 ,3\r\n4e-3,5,6', 'w.csv', 6)), [0.5, -1.25, 3, Math.fround(4e-3), 5, 6]);
  for (const [text, count] of [['1,2,3', 3], ['', 0], ['1,2,3,4,5,6,7\n', 7]] as const) {
    assert.throws(() => parseCsvTensor(text, 'w.csv', 6), (e: unknown) => e instanceof WeightsError && new RegExp(`holds ${count} values, expected 6`).test(e.message));
  }
});
