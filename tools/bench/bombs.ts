// The hostile inputs of issue #12, measured: each is built here into a temp folder (nothing is
// committed), then run by tools/bench/bombCase.ts in a fresh process through the public API at
// default settings. Budget: refused or completed within 10 s and 1024 MB peak resident memory;
// /dev/zero, /dev/urandom and a FIFO must fail within 1 s. Exit code 1 if any case misses its
// budget, crashes, hangs, or ends other than the issue says it must.
//   node --import tsx tools/bench/bombs.ts [--json FILE] [--keep]
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, createDeflate, createDeflateRaw, deflateSync } from 'node:zlib';
import { DEFAULT_MAX_BYTES } from '../../src/io/limits.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CASE_SCRIPT = join(ROOT, 'tools/bench/bombCase.ts');
const ASTRONAUT = join(ROOT, 'examples/astronaut.jpg');
const MOBILEFACENET = join(ROOT, 'weights/mobilefacenet.safetensors');
// A child that still runs after this long is reported as a hang, not waited for.
const HARD_TIMEOUT_MS = 60_000;
// Far above the budget: past it the child is killed rather than left to eat a shared machine.
const RSS_KILL_MB = 4096;
const BUDGET_S = 10;
const BUDGET_MB = 1024;
const DEVICE_BUDGET_S = 1;

const argv = process.argv.slice(2);
const jsonOut = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : undefined;
const keep = argv.includes('--keep');
if (argv.includes('--json') && !jsonOut) {
  process.stderr.write('usage: node --import tsx tools/bench/bombs.ts [--json FILE] [--keep]\n');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'tsface-bombs-'));

// ---- building the inputs -------------------------------------------------------------------

/**
 * `prefix` then `zeros` zero bytes, deflated (zlib-wrapped for PNG, raw for zip), together with
 * the CRC-32 of the uncompressed bytes. Streamed from one reused zero block, so building a 1 GiB
 * bomb costs this process a megabyte, not a gigabyte.
 */
async function deflateZeros(prefix: Uint8Array, zeros: number, raw: boolean): Promise<{ body: Buffer; crc: number }> {
  const z = raw ? createDeflateRaw({ level: 9 }) : createDeflate({ level: 9 });
  const out: Buffer[] = [];
  z.on('data', (c: Buffer) => out.push(c));
  const ended = once(z, 'end');
  let crc = crc32(prefix);
  if (prefix.length && !z.write(prefix)) await once(z, 'drain');
  const block = Buffer.alloc(1 << 20);
  for (let left = zeros; left > 0;) {
    const piece = block.subarray(0, Math.min(left, block.length));
    crc = crc32(piece, crc);
    if (!z.write(piece)) await once(z, 'drain');
    left -= piece.length;
  }
  z.end();
  await ended;
  return { body: Buffer.concat(out), crc };
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

function png(width: number, height: number, idat: Uint8Array): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, adaptive filtering, not interlaced
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', new Uint8Array(0))]);
}

/** The JPEG with every frame header (SOFn) claiming `width` x `height`; the scan data is untouched. */
function relabelJpeg(bytes: Uint8Array, width: number, height: number): Buffer {
  const out = Buffer.from(bytes);
  let patched = 0;
  // Walk segment by segment up to the first scan, so a thumbnail inside APP1 is never mistaken for the frame.
  for (let at = 2; at + 4 <= out.length;) {
    if (out[at] !== 0xff) throw new Error(`relabelJpeg: no marker at ${at}`);
    const marker = out[at + 1];
    if (marker === 0xff) { at++; continue; }
    if (marker === 0xda || marker === 0xd9) break;
    const length = out.readUInt16BE(at + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      out.writeUInt16BE(height, at + 5);
      out.writeUInt16BE(width, at + 7);
      patched++;
    }
    at += 2 + length;
  }
  if (!patched) throw new Error('relabelJpeg: no SOF marker before the first scan');
  return out;
}

/** An .npz of one float32 .npy member whose data is `dataBytes` zero bytes, deflated. */
async function npzBomb(dataBytes: number): Promise<Buffer> {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dataBytes / 4},), }`;
  // NumPy pads the header with spaces so that the data starts on a 64-byte boundary.
  const headerLen = Math.ceil((10 + dict.length + 1) / 64) * 64 - 10;
  const header = Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, headerLen & 0xff, headerLen >> 8]), Buffer.from(dict.padEnd(headerLen - 1) + '\n', 'latin1')]);
  const size = header.length + dataBytes;
  const { body, crc } = await deflateZeros(header, dataBytes, true);
  // tools/fuzz/zip.ts's buildZip deflates an in-memory member, which would need the whole
  // gigabyte here; the zip fields are written directly instead.
  const name = Buffer.from('zeros.npy');
  const local = Buffer.alloc(30 + name.length);
  local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(8, 8);
  local.writeUInt32LE(crc, 14); local.writeUInt32LE(body.length, 18); local.writeUInt32LE(size, 22);
  local.writeUInt16LE(name.length, 26); name.copy(local, 30);
  const central = Buffer.alloc(46 + name.length);
  central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc, 16); central.writeUInt32LE(body.length, 20); central.writeUInt32LE(size, 24);
  central.writeUInt16LE(name.length, 28); central.writeUInt32LE(0, 42); name.copy(central, 46);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0); eocd.writeUInt16LE(1, 8); eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(central.length, 12); eocd.writeUInt32LE(local.length + body.length, 16);
  return Buffer.concat([local, body, central, eocd]);
}

/** A copy of the bundled MobileFaceNet with one float32 of its first conv (the stem) set to 3.4e38. */
function poisonedWeights(file: string): string {
  const bytes = readFileSync(MOBILEFACENET);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const convs = Object.entries(header).filter(([k, v]) => k !== '__metadata__' && v.dtype === 'F32' && v.shape.length === 4);
  // The stem conv is the first layer the image meets, so the overflow reaches every later layer.
  const [name, entry] = convs.find(([k]) => /stem\.conv\.weight$/.test(k)) ?? convs[0];
  bytes.writeFloatLE(3.4e38, 8 + headerLen + entry.data_offsets[0]);
  writeFileSync(file, bytes);
  return name;
}

const hasConvert = spawnSync('convert', ['-version'], { stdio: 'ignore' }).status === 0;

function convert(args: string[]): void {
  const r = spawnSync('convert', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
  if (r.status !== 0) throw new Error(`convert ${args.join(' ')} failed: ${r.stderr?.toString().trim() || r.error?.message || `status ${r.status}`}`);
}

// ---- the cases -----------------------------------------------------------------------------

type Expect = 'refused' | 'completed' | 'either';
interface Case {
  name: string;
  /** Builds the input and returns the child's arguments, or a reason to skip. */
  build: () => Promise<{ args: string[]; input: string } | { skip: string }>;
  expect: Expect;
  budgetS: number;
  /** What a refusal's message must say, where the issue names it. */
  message?: RegExp;
}

const at = (name: string) => join(dir, name);

const cases: Case[] = [
  {
    name: 'png-7071x7071-zeros', expect: 'either', budgetS: BUDGET_S,
    build: async () => {
      const { body } = await deflateZeros(new Uint8Array(0), 7071 * (1 + 7071 * 3), false);
      writeFileSync(at('zeros-7071.png'), png(7071, 7071, body));
      return { args: ['detect', at('zeros-7071.png')], input: at('zeros-7071.png') };
    },
  },
  {
    name: 'jpeg-7000x7000-real', expect: 'either', budgetS: BUDGET_S,
    build: async () => {
      if (!hasConvert) return { skip: 'ImageMagick `convert` not found' };
      convert(['-size', '7000x7000', 'xc:gray', '-quality', '90', at('gray-7000.jpg')]);
      return { args: ['detect', at('gray-7000.jpg')], input: at('gray-7000.jpg') };
    },
  },
  {
    name: 'jpeg-relabelled-7000x7000', expect: 'either', budgetS: BUDGET_S,
    build: async () => {
      writeFileSync(at('relabelled-7000.jpg'), relabelJpeg(readFileSync(ASTRONAUT), 7000, 7000));
      return { args: ['detect', at('relabelled-7000.jpg')], input: at('relabelled-7000.jpg') };
    },
  },
  {
    name: 'png-50000000x1-empty', expect: 'either', budgetS: BUDGET_S,
    build: async () => {
      writeFileSync(at('wide.png'), png(50_000_000, 1, deflateSync(new Uint8Array(0))));
      return { args: ['detect', at('wide.png')], input: at('wide.png') };
    },
  },
  {
    name: 'npz-1GiB-zeros', expect: 'either', budgetS: BUDGET_S,
    build: async () => {
      writeFileSync(at('zeros.npz'), await npzBomb(2 ** 30));
      return { args: ['npz', at('zeros.npz')], input: at('zeros.npz') };
    },
  },
  {
    // The largest member the default limit lets through (the .npy header is 128 bytes): it
    // must be read within the budget, not only refused when over.
    name: 'npz-at-the-limit-zeros', expect: 'either', budgetS: BUDGET_S,
    build: async () => {
      writeFileSync(at('limit.npz'), await npzBomb(DEFAULT_MAX_BYTES.array - 128));
      return { args: ['npz', at('limit.npz')], input: at('limit.npz') };
    },
  },
  {
    name: 'weights-3.4e38', expect: 'refused', budgetS: BUDGET_S, message: /mobilefacenet.*layer \S+/,
    build: async () => {
      const poisoned = at('poisoned.safetensors');
      const tensor = poisonedWeights(poisoned);
      process.stderr.write(`  (poisoned ${tensor}[0])\n`);
      return { args: ['embed', poisoned, ASTRONAUT], input: poisoned };
    },
  },
  {
    name: '/dev/zero', expect: 'refused', budgetS: DEVICE_BUDGET_S,
    build: async () => (existsSync('/dev/zero') ? { args: ['detect', '/dev/zero'], input: '/dev/zero' } : { skip: 'no /dev/zero' }),
  },
  {
    name: '/dev/urandom', expect: 'refused', budgetS: DEVICE_BUDGET_S,
    build: async () => (existsSync('/dev/urandom') ? { args: ['detect', '/dev/urandom'], input: '/dev/urandom' } : { skip: 'no /dev/urandom' }),
  },
  {
    name: 'fifo', expect: 'refused', budgetS: DEVICE_BUDGET_S,
    build: async () => {
      const fifo = at('photo.jpg');
      const r = spawnSync('mkfifo', [fifo]);
      if (r.status !== 0) return { skip: `mkfifo failed: ${r.stderr?.toString().trim() || r.error?.message}` };
      return { args: ['detect', fifo], input: fifo };
    },
  },
  {
    name: 'jpeg-4096x4096-upscaled', expect: 'completed', budgetS: BUDGET_S,
    build: async () => {
      if (!hasConvert) return { skip: 'ImageMagick `convert` not found' };
      if (!existsSync(at('big.jpg'))) convert([ASTRONAUT, '-resize', '4096x4096!', at('big.jpg')]);
      return { args: ['detect', at('big.jpg')], input: at('big.jpg') };
    },
  },
  {
    name: 'png-4096x4096-upscaled', expect: 'completed', budgetS: BUDGET_S,
    build: async () => {
      if (!hasConvert) return { skip: 'ImageMagick `convert` not found' };
      if (!existsSync(at('big.jpg'))) convert([ASTRONAUT, '-resize', '4096x4096!', at('big.jpg')]);
      convert([at('big.jpg'), at('big.png')]);
      return { args: ['detect', at('big.png')], input: at('big.png') };
    },
  },
];

// ---- running one case ----------------------------------------------------------------------

interface ChildLine { outcome: 'refused' | 'completed' | 'crashed'; errorClass?: string; message?: string; ms: number; setupMs: number; maxRssMb: number; detail?: Record<string, unknown> }
interface Row {
  case: string;
  input?: string;
  bytes?: number | null;
  outcome: 'refused' | 'completed' | 'crashed' | 'hang' | 'over-memory' | 'skipped';
  errorClass?: string;
  message?: string;
  seconds?: number;
  setupSeconds?: number;
  childWallSeconds?: number;
  peakRssMb?: number;
  budgetS: number;
  expect: Expect;
  verdict: 'PASS' | 'FAIL' | 'SKIPPED';
  why?: string;
  detail?: Record<string, unknown>;
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

async function runChild(args: string[]): Promise<{ line?: ChildLine; killed?: 'hang' | 'over-memory'; code: number | null; signal: string | null; stderr: string; wallMs: number; watchedMb: number }> {
  const start = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', CASE_SCRIPT, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => { stdout += c; });
  child.stderr.on('data', (c: Buffer) => { stderr += c; });
  let killed: 'hang' | 'over-memory' | undefined;
  let watchedMb = 0;
  const timer = setTimeout(() => { killed = 'hang'; child.kill('SIGKILL'); }, HARD_TIMEOUT_MS);
  const watch = setInterval(() => {
    watchedMb = Math.max(watchedMb, rssMb(child.pid!));
    if (watchedMb > RSS_KILL_MB && !killed) { killed = 'over-memory'; child.kill('SIGKILL'); }
  }, 100);
  const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
  clearTimeout(timer);
  clearInterval(watch);
  const last = stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  let line: ChildLine | undefined;
  try {
    line = last ? (JSON.parse(last) as ChildLine) : undefined;
  } catch {
    line = undefined;
  }
  return { line, killed, code, signal, stderr, wallMs: performance.now() - start, watchedMb };
}

const shorten = (s: string) => s.split(dir).join('$TMP');

async function runCase(c: Case): Promise<Row> {
  const base = { case: c.name, budgetS: c.budgetS, expect: c.expect };
  let built: Awaited<ReturnType<Case['build']>>;
  try {
    built = await c.build();
  } catch (e) {
    // A generator failure is this script's fault, not the library's: reported, and failed.
    return { ...base, outcome: 'crashed', errorClass: 'GeneratorError', message: String((e as Error).message), verdict: 'FAIL', why: 'could not build the input' };
  }
  if ('skip' in built) return { ...base, outcome: 'skipped', verdict: 'SKIPPED', why: built.skip };
  const st = statSync(built.input);
  const bytes = st.isFile() ? st.size : null;
  const r = await runChild(built.args);
  const row: Row = { ...base, input: shorten(built.input), bytes, outcome: 'crashed', budgetS: c.budgetS, verdict: 'FAIL', childWallSeconds: r.wallMs / 1000 };
  if (r.killed) {
    row.outcome = r.killed;
    row.seconds = r.wallMs / 1000;
    row.peakRssMb = r.watchedMb;
    row.why = r.killed === 'hang' ? `killed after ${HARD_TIMEOUT_MS / 1000} s` : `killed at ${r.watchedMb.toFixed(0)} MB resident`;
    return row;
  }
  if (!r.line) {
    row.errorClass = r.signal ? `signal ${r.signal}` : `exit ${r.code}`;
    row.message = shorten(r.stderr.trim().split('\n').slice(-3).join(' | ') || 'no output');
    row.seconds = r.wallMs / 1000;
    row.peakRssMb = r.watchedMb;
    row.why = 'the child died without a result';
    return row;
  }
  const l = r.line;
  Object.assign(row, {
    outcome: l.outcome, errorClass: l.errorClass, message: l.message === undefined ? undefined : shorten(l.message),
    seconds: l.ms / 1000, setupSeconds: l.setupMs / 1000, peakRssMb: l.maxRssMb, detail: l.detail,
  });
  const problems: string[] = [];
  if (l.outcome === 'crashed') problems.push('untyped error');
  if (c.expect !== 'either' && l.outcome !== c.expect && l.outcome !== 'crashed') problems.push(`expected ${c.expect}`);
  if (c.message && l.outcome === 'refused' && !c.message.test(l.message ?? '')) problems.push(`message does not match ${c.message}`);
  if (row.seconds! > c.budgetS) problems.push(`over ${c.budgetS} s`);
  if (row.peakRssMb! > BUDGET_MB) problems.push(`over ${BUDGET_MB} MB`);
  row.verdict = problems.length ? 'FAIL' : 'PASS';
  if (problems.length) row.why = problems.join('; ');
  return row;
}

// ---- the table -----------------------------------------------------------------------------

function table(rows: Row[]): string {
  const head = ['case', 'bytes', 'outcome', 'error', 'seconds', 'peak RSS MB', 'budget', 'verdict'];
  const cells = rows.map((r) => {
    const faces = r.outcome === 'completed' && typeof r.detail?.faces === 'number' ? ` (${r.detail.faces} face${r.detail.faces === 1 ? '' : 's'})` : '';
    const error = r.errorClass ? `${r.errorClass}: ${(r.message ?? '').split('\n')[0]}` : r.outcome === 'skipped' ? `SKIPPED: ${r.why}` : '';
    return [
      r.case,
      r.bytes === undefined ? '' : r.bytes === null ? '-' : String(r.bytes),
      r.outcome + faces,
      error,
      r.seconds === undefined ? '' : r.seconds.toFixed(3),
      r.peakRssMb === undefined ? '' : r.peakRssMb.toFixed(0),
      `${r.budgetS} s / ${BUDGET_MB} MB`,
      r.verdict + (r.why && r.verdict === 'FAIL' ? ` (${r.why})` : ''),
    ];
  });
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const numeric = new Set([1, 4, 5]);
  const line = (c: string[]) => c.map((s, i) => (numeric.has(i) ? s.padStart(width[i]) : s.padEnd(width[i]))).join('  ').trimEnd();
  return [line(head), line(width.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

// ---- main ----------------------------------------------------------------------------------

if (!hasConvert) process.stderr.write('\n*** SKIPPED: ImageMagick `convert` not found: the real 7000x7000 JPEG and the 4096x4096 cases will not run ***\n\n');
const rows: Row[] = [];
try {
  for (const c of cases) {
    process.stderr.write(`${c.name} ...\n`);
    const row = await runCase(c);
    if (row.verdict === 'SKIPPED') process.stderr.write(`*** SKIPPED ${c.name}: ${row.why} ***\n`);
    rows.push(row);
  }
} finally {
  if (!keep) rmSync(dir, { recursive: true, force: true });
}

const out = table(rows);
process.stdout.write(out + '\n');
const failed = rows.filter((r) => r.verdict === 'FAIL');
process.stdout.write(`\n${rows.length - failed.length - rows.filter((r) => r.verdict === 'SKIPPED').length} passed, ${failed.length} failed, ${rows.filter((r) => r.verdict === 'SKIPPED').length} skipped; ` +
  `seconds time the library call on the hostile input in the child (detector loading apart); peak RSS is the child's whole-process high-water mark.\n`);
if (keep) process.stdout.write(`inputs kept in ${dir}\n`);
if (jsonOut) {
  mkdirSync(dirname(resolve(jsonOut)), { recursive: true });
  writeFileSync(jsonOut, JSON.stringify({ when: new Date().toISOString(), node: process.version, budget: { seconds: BUDGET_S, deviceSeconds: DEVICE_BUDGET_S, mb: BUDGET_MB }, rows }, null, 2) + '\n');
}
process.exit(failed.length ? 1 : 0);
