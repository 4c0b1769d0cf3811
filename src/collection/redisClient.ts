// A Redis client for BullMQ's client interface (IRedisClient), over one TCP connection with
// RESP2: commands are pipelined and answered in order; commands issued while connecting (or
// reconnecting) wait in an offline queue; Lua scripts defined by BullMQ run by EVALSHA and
// are loaded first. tsface ships it because bullmq leaves the driver to the application.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { encodeCommand, RedisReplyError, ReplyParser, type Arg, type Reply } from './resp.ts';

export interface RedisClientOptions {
  host?: string;
  port?: number;
  db?: number;
  username?: string;
  password?: string;
  connectionName?: string;
  /** Milliseconds before reconnect attempt `times` (BullMQ passes its own); null stops reconnecting. */
  retryStrategy?: (times: number) => number | void | null;
  [key: string]: unknown;
}

/** The message BullMQ recognises as a closed connection. */
const CLOSED = 'Connection is closed.';

type Waiter = { resolve: (r: Reply) => void; reject: (e: Error) => void };
interface Script { sha: string; lua: string; keys: number }

function scriptArgs(args: unknown[]): unknown[] {
  return args.length === 1 && Array.isArray(args[0]) ? args[0] : args;
}

function toArg(a: unknown): Arg {
  if (Buffer.isBuffer(a)) return a;
  if (a === undefined || a === null) return '';
  return typeof a === 'number' ? a : String(a);
}

function pairsToObject(reply: Reply): Record<string, string> {
  const out: Record<string, string> = {};
  const list = (reply as string[]) ?? [];
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]] = list[i + 1];
  return out;
}

export class RedisClient extends EventEmitter {
  status = 'connecting';
  readonly isCluster = false;
  readonly options: RedisClientOptions & { maxRetriesPerRequest: null };
  private socket: Socket | null = null;
  private parser = new ReplyParser();
  private readonly waiting: Waiter[] = [];
  private offline: { args: Arg[]; waiter: Waiter }[] = [];
  private readonly scripts = new Map<string, Script>();
  private readonly loaded = new Set<string>();
  private attempts = 0;
  private closing = false;
  /** The last socket or handshake error, for a caller that wants to say why a connection ended. */
  lastError: Error | null = null;

  constructor(options: RedisClientOptions = {}) {
    super();
    this.options = { ...options, maxRetriesPerRequest: null };
    this.open();
  }

  private open(): void {
    this.status = 'connecting';
    this.parser = new ReplyParser();
    const socket = connect({ host: this.options.host ?? '127.0.0.1', port: this.options.port ?? 6379 });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      for (const reply of this.parser.push(chunk)) {
        const w = this.waiting.shift();
        if (!w) continue;
        if (reply instanceof RedisReplyError) w.reject(reply);
        else w.resolve(reply);
      }
    });
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.lost(socket));
    socket.on('connect', () => void this.handshake());
  }

  /** AUTH, SELECT and CLIENT SETNAME go first, ahead of anything queued offline. */
  private async handshake(): Promise<void> {
    try {
      const { password, username, db, connectionName } = this.options;
      if (password) await this.raw(username ? ['AUTH', username, password] : ['AUTH', password]);
      if (db) await this.raw(['SELECT', db]);
      if (connectionName) await this.raw(['CLIENT', 'SETNAME', connectionName]);
    } catch (e) {
      this.fail(e as Error);
      this.socket?.destroy();
      return;
    }
    this.attempts = 0;
    this.loaded.clear(); // a restarted server has forgotten the scripts
    this.status = 'ready';
    const queued = this.offline;
    this.offline = [];
    for (const { args, waiter } of queued) this.write(args, waiter);
    this.emit('connect');
    this.emit('ready');
  }

  /** Errors go to listeners when there are any; unheard, they must not end the process (the caller sees the closed connection). */
  private fail(e: Error): void {
    this.lastError = e;
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }

  private lost(socket: Socket): void {
    if (socket !== this.socket) return;
    this.socket = null;
    for (const w of this.waiting.splice(0)) w.reject(new Error(CLOSED));
    this.emit('close');
    this.attempts++;
    const strategy = this.options.retryStrategy ?? ((times: number) => Math.min(1000 * times, 5000));
    const delay = this.closing ? null : strategy(this.attempts);
    if (typeof delay !== 'number') {
      this.status = 'end';
      for (const { waiter } of this.offline.splice(0)) waiter.reject(new Error(CLOSED));
      this.emit('end');
      return;
    }
    this.status = 'reconnecting';
    this.emit('reconnecting', delay);
    setTimeout(() => { if (!this.closing) this.open(); }, delay);
  }

  private write(args: Arg[], waiter: Waiter): void {
    this.waiting.push(waiter);
    this.socket!.write(encodeCommand(args));
  }

  /** Sends a command now, bypassing the offline queue (the handshake's own commands). */
  private raw(args: Arg[]): Promise<Reply> {
    return new Promise((resolve, reject) => this.write(args, { resolve, reject }));
  }

  /** Any Redis command; the reply as the server sends it (error replies reject). */
  call(...args: Arg[]): Promise<any> {
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      if (this.status === 'end') reject(new Error(CLOSED));
      else if (this.status !== 'ready') this.offline.push({ args, waiter });
      else this.write(args, waiter);
    });
  }

  async connect(): Promise<void> {
    if (this.status === 'ready') return;
    if (this.status === 'end') {
      this.closing = false;
      this.open();
    }
    await new Promise<void>((resolve, reject) => {
      const ready = () => { this.off('end', end); resolve(); };
      const end = () => { this.off('ready', ready); reject(new Error(CLOSED)); };
      this.once('ready', ready);
      this.once('end', end);
    });
  }

  /** Closes now: pending and queued commands fail as closed, the status is 'end' on return. */
  disconnect(): void {
    this.closing = true;
    if (this.status === 'end') return;
    const socket = this.socket;
    this.socket = null;
    this.status = 'end';
    for (const w of this.waiting.splice(0)) w.reject(new Error(CLOSED));
    for (const { waiter } of this.offline.splice(0)) waiter.reject(new Error(CLOSED));
    socket?.destroy();
    this.emit('close');
    this.emit('end');
  }

  async quit(): Promise<string> {
    this.closing = true;
    let reply = 'OK';
    if (this.status === 'ready') reply = await this.call('QUIT').catch(() => 'OK');
    this.disconnect();
    return reply;
  }

  duplicate(overrides: Partial<RedisClientOptions> = {}): RedisClient {
    const copy = new RedisClient({ ...this.options, ...overrides });
    for (const [name, s] of this.scripts) copy.defineCommand(name, { numberOfKeys: s.keys, lua: s.lua });
    return copy;
  }

  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void {
    this.scripts.set(name, { sha: createHash('sha1').update(definition.lua).digest('hex'), lua: definition.lua, keys: definition.numberOfKeys });
    (this as any)[name] = (...args: unknown[]) => this.runCommand(name, args);
  }

  private script(name: string): Script {
    const s = this.scripts.get(name);
    if (!s) throw new Error(`unknown script command "${name}"`);
    return s;
  }

  private evalArgs(s: Script, args: unknown[]): Arg[] {
    return ['EVALSHA', s.sha, s.keys, ...scriptArgs(args).map(toArg)];
  }

  /** Loads a script once per connection, so EVALSHA also works inside MULTI. */
  async ensureLoaded(name: string): Promise<void> {
    const s = this.script(name);
    if (this.loaded.has(s.sha)) return;
    await this.call('SCRIPT', 'LOAD', s.lua);
    this.loaded.add(s.sha);
  }

  async runCommand(name: string, args: unknown[]): Promise<any> {
    const s = this.script(name);
    try {
      await this.ensureLoaded(name);
      return await this.call(...this.evalArgs(s, args));
    } catch (e) {
      if (!(e instanceof RedisReplyError && e.message.startsWith('NOSCRIPT'))) throw e;
      this.loaded.delete(s.sha);
      await this.ensureLoaded(name);
      return this.call(...this.evalArgs(s, args));
    }
  }

  multi(): RedisBatch {
    return new RedisBatch(this, true);
  }

  pipeline(): RedisBatch {
    return new RedisBatch(this, false);
  }

  /** The EVALSHA command line of a script (for batches). */
  scriptCommand(name: string, args: unknown[]): Arg[] {
    return this.evalArgs(this.script(name), args);
  }

  async hgetall(key: string) { return pairsToObject(await this.call('HGETALL', key)); }
  hget(key: string, field: string) { return this.call('HGET', key, field); }
  hmget(key: string, ...fields: string[]) { return this.call('HMGET', key, ...fields); }
  hset(key: string, data: Record<string, string | number>) { return this.call('HSET', key, ...Object.entries(data).flat()); }
  hdel(key: string, ...fields: string[]) { return this.call('HDEL', key, ...fields); }
  hexists(key: string, field: string) { return this.call('HEXISTS', key, field); }
  get(key: string) { return this.call('GET', key); }
  set(key: string, value: string | number, options: { PX?: number; EX?: number } = {}) {
    const extra: Arg[] = options.PX !== undefined ? ['PX', options.PX] : options.EX !== undefined ? ['EX', options.EX] : [];
    return this.call('SET', key, value, ...extra);
  }
  del(...keys: string[]) { return keys.length ? this.call('DEL', ...keys) : Promise.resolve(0); }
  zrange(key: string, start: number, end: number, options: { WITHSCORES?: boolean } = {}) {
    return this.call('ZRANGE', key, start, end, ...(options.WITHSCORES ? ['WITHSCORES'] : []));
  }
  zrevrange(key: string, start: number, end: number, options: { WITHSCORES?: boolean } = {}) {
    return this.call('ZREVRANGE', key, start, end, ...(options.WITHSCORES ? ['WITHSCORES'] : []));
  }
  zcard(key: string) { return this.call('ZCARD', key); }
  zscore(key: string, member: string) { return this.call('ZSCORE', key, member); }
  lrange(key: string, start: number, end: number) { return this.call('LRANGE', key, start, end); }
  llen(key: string) { return this.call('LLEN', key); }
  ltrim(key: string, start: number, end: number) { return this.call('LTRIM', key, start, end); }
  lpos(key: string, value: string) { return this.call('LPOS', key, value); }
  smembers(key: string) { return this.call('SMEMBERS', key); }
  xadd(key: string, id: string, fields: Record<string, string | number>, options: { MAXLEN?: number; approximate?: boolean } = {}) {
    const trim: Arg[] = options.MAXLEN !== undefined ? ['MAXLEN', ...(options.approximate === false ? [] : ['~']), options.MAXLEN] : [];
    return this.call('XADD', key, ...trim, id, ...Object.entries(fields).flat());
  }
  xread(streams: { key: string; id: string }[], options: { BLOCK?: number; COUNT?: number } = {}) {
    const head: Arg[] = [];
    if (options.COUNT !== undefined) head.push('COUNT', options.COUNT);
    if (options.BLOCK !== undefined) head.push('BLOCK', options.BLOCK);
    return this.call('XREAD', ...head, 'STREAMS', ...streams.map((s) => s.key), ...streams.map((s) => s.id));
  }
  xtrim(key: string, strategy: 'MAXLEN', threshold: number, options: { approximate?: boolean } = {}) {
    return this.call('XTRIM', key, strategy, ...(options.approximate === false ? [] : ['~']), threshold);
  }
  bzpopmin(key: string, timeout: number) { return this.call('BZPOPMIN', key, timeout); }
  info() { return this.call('INFO'); }
  clientSetName(name: string) { return this.call('CLIENT', 'SETNAME', name); }
  clientList() { return this.call('CLIENT', 'LIST'); }
  clientInfo() { return this.call('CLIENT', 'INFO'); }
  scan(cursor: string | number, options: { MATCH?: string; COUNT?: number } = {}) {
    const extra: Arg[] = [];
    if (options.MATCH !== undefined) extra.push('MATCH', options.MATCH);
    if (options.COUNT !== undefined) extra.push('COUNT', options.COUNT);
    return this.call('SCAN', cursor, ...extra);
  }
  /** SCAN as a stream of key arrays, one per reply (as BullMQ expects of ioredis). */
  scanStream(options: { match: string; count?: number }): Readable {
    let cursor = '0';
    const stream: Readable = new Readable({
      objectMode: true,
      read: () => {
        this.scan(cursor, { MATCH: options.match, COUNT: options.count }).then(([next, keys]: [string, string[]]) => {
          cursor = next;
          stream.push(keys);
          if (next === '0') stream.push(null);
        }, (e: Error) => stream.destroy(e));
      },
    });
    return stream;
  }
}

/** MULTI/EXEC (or a plain pipeline): commands queued, sent together, answered as [error, value] pairs. */
export class RedisBatch {
  private readonly commands: Arg[][] = [];
  private readonly scriptNames = new Set<string>();
  private readonly shapes: ((r: Reply) => unknown)[] = [];

  constructor(private readonly client: RedisClient, private readonly transaction: boolean) {}

  private add(args: Arg[], shape: (r: Reply) => unknown = (r) => r): this {
    this.commands.push(args);
    this.shapes.push(shape);
    return this;
  }

  hgetall(key: string) { return this.add(['HGETALL', key], pairsToObject); }
  hset(key: string, data: Record<string, string | number>) { return this.add(['HSET', key, ...Object.entries(data).flat()]); }
  hscan(key: string, cursor: string | number, options: { COUNT?: number } = {}) { return this.add(['HSCAN', key, cursor, ...(options.COUNT !== undefined ? ['COUNT', options.COUNT] : [])]); }
  smembers(key: string) { return this.add(['SMEMBERS', key]); }
  sscan(key: string, cursor: string | number, options: { COUNT?: number } = {}) { return this.add(['SSCAN', key, cursor, ...(options.COUNT !== undefined ? ['COUNT', options.COUNT] : [])]); }
  zrange(key: string, start: number, end: number) { return this.add(['ZRANGE', key, start, end]); }
  lrange(key: string, start: number, end: number) { return this.add(['LRANGE', key, start, end]); }
  llen(key: string) { return this.add(['LLEN', key]); }
  del(...keys: string[]) { return keys.length ? this.add(['DEL', ...keys]) : this; }
  runCommand(name: string, args: unknown[]) {
    this.scriptNames.add(name);
    return this.add(this.client.scriptCommand(name, args));
  }

  async exec(): Promise<[Error | null, unknown][] | null> {
    for (const name of this.scriptNames) await this.client.ensureLoaded(name);
    if (!this.transaction) {
      const settled = await Promise.all(this.commands.map((c) => this.client.call(...c).then((v) => [null, v] as [null, unknown], (e: Error) => [e, null] as [Error, null])));
      return settled.map(([e, v], i) => (e ? [e, null] : [null, this.shapes[i](v as Reply)]));
    }
    // MULTI, the commands (each answered QUEUED) and EXEC go out back to back on one connection.
    const queued = [this.client.call('MULTI'), ...this.commands.map((c) => this.client.call(...c))];
    const exec = this.client.call('EXEC');
    const early = await Promise.allSettled(queued);
    let results: Reply[] | null;
    try {
      results = await exec;
    } catch (e) {
      const cause = early.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
      throw cause?.reason ?? e;
    }
    if (results === null) return null;
    return results.map((r, i) => (r instanceof RedisReplyError ? [r, null] : [null, this.shapes[i](r)]));
  }
}
