// RESP2, the Redis wire protocol: commands as arrays of bulk strings, replies parsed
// incrementally from a byte stream (a reply may arrive across many socket reads).

/** An error reply from the server (-ERR ..., -NOSCRIPT ...). */
export class RedisReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplyError';
  }
}

export type Reply = string | number | null | RedisReplyError | Reply[];
export type Arg = string | number | Buffer;

export function encodeCommand(args: readonly Arg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const bytes = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

const INCOMPLETE = Symbol('incomplete');

export class ReplyParser {
  private buffer: Buffer = Buffer.alloc(0);

  /** Adds bytes and returns every reply they complete. */
  push(chunk: Buffer): Reply[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const replies: Reply[] = [];
    let at = 0;
    for (;;) {
      const r = this.parse(at);
      if (r === INCOMPLETE) break;
      replies.push(r.value);
      at = r.next;
    }
    this.buffer = this.buffer.subarray(at);
    return replies;
  }

  private parse(at: number): { value: Reply; next: number } | typeof INCOMPLETE {
    const end = this.buffer.indexOf('\r\n', at);
    if (end < 0) return INCOMPLETE;
    const type = String.fromCharCode(this.buffer[at]);
    const head = this.buffer.toString('utf8', at + 1, end);
    const next = end + 2;
    switch (type) {
      case '+': return { value: head, next };
      case '-': return { value: new RedisReplyError(head), next };
      case ':': return { value: Number(head), next };
      case '$': {
        const length = Number(head);
        if (length < 0) return { value: null, next };
        if (this.buffer.length < next + length + 2) return INCOMPLETE;
        return { value: this.buffer.toString('utf8', next, next + length), next: next + length + 2 };
      }
      case '*': {
        const count = Number(head);
        if (count < 0) return { value: null, next };
        const items: Reply[] = [];
        let cursor = next;
        for (let i = 0; i < count; i++) {
          const item = this.parse(cursor);
          if (item === INCOMPLETE) return INCOMPLETE;
          items.push(item.value);
          cursor = item.next;
        }
        return { value: items, next: cursor };
      }
      default:
        throw new Error(`Redis protocol error: unexpected reply type '${type}'`);
    }
  }
}
