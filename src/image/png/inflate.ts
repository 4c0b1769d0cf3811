// zlib (RFC 1950) / deflate (RFC 1951) decompression in plain TypeScript, pulled a few bytes
// at a time so a caller can consume the output row by row and stop as soon as it has what it
// expects. Every loop either consumes input bits or writes output, output is capped by the
// caller, and running out of input is an error: no input can make it hang or grow without bound.

export class InflateError extends Error {}

/** Code lengths of the static lit/len and distance codes (RFC 1951, 3.2.6). */
const FIXED_LITLEN = Uint8Array.from({ length: 288 }, (_, i) => (i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8));
const FIXED_DIST = new Uint8Array(30).fill(5);

const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
/** The order code-length code lengths are sent in a dynamic block header. */
const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/**
 * A canonical Huffman code as one lookup table indexed by the next `bits` input bits (deflate
 * sends codes most significant bit first, so entries are stored under the reversed code).
 * Each entry is symbol << 4 | length; 0 marks a bit pattern no code starts with.
 */
interface HuffmanTable {
  table: Int32Array;
  bits: number;
}

function buildTable(lengths: Uint8Array, what: string): HuffmanTable {
  let maxLen = 0;
  const count = new Int32Array(16);
  for (const l of lengths) { count[l]++; if (l > maxLen) maxLen = l; }
  count[0] = 0;
  // Oversubscribed codes are ambiguous and refused, as zlib does; incomplete ones are allowed
  // (a pattern no code covers is an error only if it actually occurs in the data).
  let left = 1;
  for (let len = 1; len <= 15; len++) {
    left = left * 2 - count[len];
    if (left < 0) throw new InflateError(`oversubscribed ${what} code`);
  }
  const bits = Math.max(maxLen, 1);
  const table = new Int32Array(1 << bits);
  const next = new Int32Array(16);
  for (let len = 1, code = 0; len <= 15; len++) { code = (code + count[len - 1]) << 1; next[len] = code; }
  // next[len] now holds the first code of each length (count[0] is 0, so the recurrence holds).
  for (let sym = 0; sym < lengths.length; sym++) {
    const len = lengths[sym];
    if (!len) continue;
    const code = next[len]++;
    let rev = 0;
    for (let i = 0; i < len; i++) rev |= ((code >> i) & 1) << (len - 1 - i);
    for (let fill = rev; fill < table.length; fill += 1 << len) table[fill] = (sym << 4) | len;
  }
  return { table, bits };
}

const FIXED_TABLES = { litlen: buildTable(FIXED_LITLEN, 'literal/length'), dist: buildTable(FIXED_DIST, 'distance') };

/** Window kept for back-references (32 KiB) plus room for one chunk of fresh output. */
const WINDOW = 32768;
const CHUNK = 65536;
const MAX_MATCH = 258;

export class Inflater {
  /** The input piece being read, the pieces after it, and the next byte's offset in it. */
  private input: Uint8Array;
  private readonly pieces: readonly Uint8Array[];
  private nextPiece = 0;
  private pos = 0;
  private bitBuf = 0;
  private bitCount = 0;
  /** Output buffer: the last WINDOW bytes already handed out, then pending bytes. */
  private buf = new Uint8Array(WINDOW + CHUNK + MAX_MATCH);
  private start = 0; // first pending byte
  private end = 0; // one past the last pending byte
  private state: 'header' | 'stored' | 'codes' | 'done' = 'header';
  private finalBlock = false;
  private storedLeft = 0;
  private litlen: HuffmanTable = FIXED_TABLES.litlen;
  private dist: HuffmanTable = FIXED_TABLES.dist;
  private produced = 0;
  private adlerA = 1;
  private adlerB = 0;

  /**
   * `input` is a zlib stream (2-byte header, deflate data, Adler-32), whole or in pieces read
   * in order (a PNG's IDAT chunks as they lie in the file: no joined copy of them is made).
   */
  constructor(input: Uint8Array | readonly Uint8Array[]) {
    this.pieces = input instanceof Uint8Array ? [input] : input;
    this.input = new Uint8Array(0);
    if (this.bytesLeft() < 2) throw new InflateError('zlib stream is truncated (no header)');
    const cmf = this.bits(8);
    const flg = this.bits(8);
    if ((cmf & 15) !== 8 || cmf >> 4 > 7) throw new InflateError('zlib header: not deflate with a window of at most 32 KiB');
    if (((cmf << 8) | flg) % 31 !== 0) throw new InflateError('zlib header check bits are wrong');
    if (flg & 0x20) throw new InflateError('zlib header asks for a preset dictionary');
  }

  /** Moves on to the next non-empty piece once the current one is read; false at the end of the input. */
  private more(): boolean {
    while (this.pos >= this.input.length) {
      if (this.nextPiece >= this.pieces.length) return false;
      this.input = this.pieces[this.nextPiece++];
      this.pos = 0;
    }
    return true;
  }

  /** Whole bytes not yet consumed: those in the bit buffer, then the input's. */
  private bytesLeft(): number {
    let n = (this.bitCount >> 3) + Math.max(0, this.input.length - this.pos);
    for (let i = this.nextPiece; i < this.pieces.length; i++) n += this.pieces[i].length;
    return n;
  }

  /** Total bytes of output so far. */
  get totalOut(): number {
    return this.produced;
  }

  /** True once the final block has ended and the Adler-32 checksum matched. */
  get finished(): boolean {
    return this.state === 'done';
  }

  /**
   * Fills dst[offset, offset + length) with the next output bytes; returns how many it wrote,
   * fewer only when the stream has ended.
   */
  read(dst: Uint8Array, offset: number, length: number): number {
    let written = 0;
    while (written < length) {
      if (this.start === this.end) {
        if (this.state === 'done') break;
        this.fill();
        continue;
      }
      const n = Math.min(length - written, this.end - this.start);
      dst.set(this.buf.subarray(this.start, this.start + n), offset + written);
      this.start += n;
      written += n;
    }
    return written;
  }

  /** Decodes until the stream ends or at least one chunk of output is pending. */
  private fill(): void {
    // Slide: keep only the last WINDOW bytes before the pending ones (none are pending here).
    if (this.end > WINDOW) {
      this.buf.copyWithin(0, this.end - WINDOW, this.end);
      this.start = this.end = this.summedTo = WINDOW;
    }
    const target = this.end + CHUNK;
    while (this.end < target && this.state !== 'done') {
      if (this.state === 'header') this.blockHeader();
      else if (this.state === 'stored') this.stored(target);
      else this.codes(target);
    }
    this.checksum();
  }

  /** Drops the bits of a partial byte; whole bytes the bit buffer read ahead stay in it, read first. */
  private alignToByte(): void {
    const partial = this.bitCount & 7;
    this.bitBuf >>>= partial;
    this.bitCount -= partial;
  }

  private need(n: number): void {
    while (this.bitCount < n) {
      if (this.pos >= this.input.length && !this.more()) throw new InflateError('compressed data ends before the final block');
      this.bitBuf |= this.input[this.pos++] << this.bitCount;
      this.bitCount += 8;
    }
  }

  private bits(n: number): number {
    if (n === 0) return 0;
    this.need(n);
    const v = this.bitBuf & ((1 << n) - 1);
    this.bitBuf >>>= n;
    this.bitCount -= n;
    return v;
  }

  private decode(h: HuffmanTable): number {
    // Near the end of the input fewer than h.bits bits may remain although the code is shorter.
    while (this.bitCount < h.bits && (this.pos < this.input.length || this.more())) {
      this.bitBuf |= this.input[this.pos++] << this.bitCount;
      this.bitCount += 8;
    }
    const entry = h.table[this.bitBuf & ((1 << h.bits) - 1)];
    const len = entry & 15;
    if (entry === 0) throw new InflateError('invalid Huffman code in compressed data');
    if (len > this.bitCount) throw new InflateError('compressed data ends before the final block');
    this.bitBuf >>>= len;
    this.bitCount -= len;
    return entry >> 4;
  }

  private blockHeader(): void {
    if (this.finalBlock) {
      this.trailer();
      return;
    }
    this.finalBlock = this.bits(1) === 1;
    const type = this.bits(2);
    if (type === 0) {
      // Stored: skip to a byte boundary, then LEN and its one's complement.
      this.alignToByte();
      if (this.bytesLeft() < 4) throw new InflateError('compressed data ends inside a stored block header');
      const len = this.bits(16);
      const nlen = this.bits(16);
      if ((len ^ 0xffff) !== nlen) throw new InflateError('stored block length does not match its complement');
      this.storedLeft = len;
      this.state = 'stored';
    } else if (type === 1) {
      this.litlen = FIXED_TABLES.litlen;
      this.dist = FIXED_TABLES.dist;
      this.state = 'codes';
    } else if (type === 2) {
      this.dynamicTables();
      this.state = 'codes';
    } else throw new InflateError('invalid block type 3');
  }

  private dynamicTables(): void {
    const hlit = this.bits(5) + 257;
    const hdist = this.bits(5) + 1;
    const hclen = this.bits(4) + 4;
    if (hlit > 286 || hdist > 30) throw new InflateError(`dynamic block declares ${hlit} literal/length or ${hdist} distance codes`);
    const clen = new Uint8Array(19);
    for (let i = 0; i < hclen; i++) clen[CLEN_ORDER[i]] = this.bits(3);
    const clTable = buildTable(clen, 'code length');
    const lengths = new Uint8Array(hlit + hdist);
    for (let i = 0; i < lengths.length;) {
      const sym = this.decode(clTable);
      if (sym < 16) { lengths[i++] = sym; continue; }
      let repeat: number, value = 0;
      if (sym === 16) {
        if (i === 0) throw new InflateError('code length repeat with nothing to repeat');
        value = lengths[i - 1];
        repeat = 3 + this.bits(2);
      } else if (sym === 17) repeat = 3 + this.bits(3);
      else repeat = 11 + this.bits(7);
      if (i + repeat > lengths.length) throw new InflateError('code lengths run past the declared count');
      lengths.fill(value, i, i + repeat);
      i += repeat;
    }
    if (lengths[256] === 0) throw new InflateError('dynamic block has no end-of-block code');
    this.litlen = buildTable(lengths.subarray(0, hlit), 'literal/length');
    this.dist = buildTable(lengths.subarray(hlit), 'distance');
  }

  private stored(target: number): void {
    let n = Math.min(this.storedLeft, target - this.end);
    this.storedLeft -= n;
    // Whole bytes the bit buffer read ahead come first (the block starts on a byte boundary).
    for (; n > 0 && this.bitCount >= 8; n--) this.buf[this.end++] = this.bits(8);
    while (n > 0) {
      if (!this.more()) throw new InflateError('compressed data ends inside a stored block');
      const take = Math.min(n, this.input.length - this.pos);
      this.buf.set(this.input.subarray(this.pos, this.pos + take), this.end);
      this.pos += take;
      this.end += take;
      n -= take;
    }
    if (this.storedLeft === 0) this.state = 'header';
  }

  private codes(target: number): void {
    const buf = this.buf;
    // `target` leaves MAX_MATCH bytes of room, so a whole match always fits.
    while (this.end < target) {
      const sym = this.decode(this.litlen);
      if (sym < 256) {
        buf[this.end++] = sym;
        continue;
      }
      if (sym === 256) {
        this.state = 'header';
        return;
      }
      const li = sym - 257;
      if (li >= 29) throw new InflateError(`invalid length code ${sym}`);
      const length = LEN_BASE[li] + this.bits(LEN_EXTRA[li]);
      const di = this.decode(this.dist);
      if (di >= 30) throw new InflateError(`invalid distance code ${di}`);
      const distance = DIST_BASE[di] + this.bits(DIST_EXTRA[di]);
      if (distance > this.produced + (this.end - this.summedTo)) throw new InflateError('distance reaches before the start of the output');
      let from = this.end - distance;
      for (let k = 0; k < length; k++) buf[this.end++] = buf[from++];
    }
  }

  /** Output bytes before this buffer position are already counted in `produced` and the checksum. */
  private summedTo = 0;

  private checksum(): void {
    let a = this.adlerA, b = this.adlerB;
    const buf = this.buf;
    // Reduce modulo 65521 often enough that the sums stay exact small integers.
    for (let i = this.summedTo; i < this.end;) {
      const stop = Math.min(this.end, i + 4096);
      for (; i < stop; i++) { a += buf[i]; b += a; }
      a %= 65521;
      b %= 65521;
    }
    this.adlerA = a;
    this.adlerB = b;
    this.produced += this.end - this.summedTo;
    this.summedTo = this.end;
  }

  private trailer(): void {
    // The Adler-32 starts at the next byte boundary; everything written so far must be summed.
    this.checksum();
    this.alignToByte();
    if (this.bytesLeft() < 4) throw new InflateError('compressed data ends before its Adler-32 checksum');
    // Big-endian, unlike the deflate data's bit order.
    let expected = 0;
    for (let i = 0; i < 4; i++) expected = expected * 256 + this.bits(8);
    const actual = ((this.adlerB << 16) | this.adlerA) >>> 0;
    if (expected !== actual) throw new InflateError('Adler-32 checksum of the decompressed data does not match');
    this.state = 'done';
  }
}
