// Progress of a long run: a bar redrawn in place on a terminal, a plain line every few seconds
// when the output is a file or a pipe (a CI log, `nohup`), so the log stays readable.
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const two = (n: number) => String(n).padStart(2, '0');
  return h ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

export class Progress {
  private done = 0;
  private errors = 0;
  private readonly started = Date.now();
  private lastShown = 0;

  constructor(
    readonly total: number,
    private readonly stream: ProgressStream = process.stderr,
    /** Seconds between plain lines when the stream is not a terminal. */
    private readonly every = 5,
    private readonly label = 'scan',
  ) {}

  tick(failed = false): void {
    this.done++;
    if (failed) this.errors++;
    const now = Date.now();
    const gap = this.stream.isTTY ? 100 : this.every * 1000;
    if (now - this.lastShown >= gap) {
      this.lastShown = now;
      this.show(false);
    }
  }

  private rate(): number {
    const seconds = (Date.now() - this.started) / 1000;
    return seconds > 0 ? this.done / seconds : 0;
  }

  private show(final: boolean): void {
    const rate = this.rate();
    const eta = rate > 0 ? (this.total - this.done) / rate : Infinity;
    const counts = `${this.done}/${this.total} images${this.errors ? `, ${this.errors} errors` : ''}`;
    const speed = `${rate.toFixed(1)} images/s`;
    if (this.stream.isTTY) {
      const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - 60));
      const filled = this.total ? Math.round((width * this.done) / this.total) : width;
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
      this.stream.write(`\r${bar} ${counts} ${speed} ETA ${clock(eta)}\x1b[K${final ? '\n' : ''}`);
    } else {
      const tail = final ? `in ${clock((Date.now() - this.started) / 1000)}` : `ETA ${clock(eta)}`;
      this.stream.write(`${this.label}: ${counts}, ${speed}, ${tail}\n`);
    }
  }

  finish(): void {
    this.show(true);
  }
}
