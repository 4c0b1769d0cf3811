// A training run's progress: on a terminal one line redrawn in place (epoch, step, loss, active
// triplets, images/s, ETA); elsewhere (a log, a pipe) a plain line every few seconds and one per
// epoch, so a log of a long run stays readable.
import type { ProgressStream } from '../collection/progress.ts';
import type { EpochRecord } from './history.ts';
import type { StepReport } from './trainLoop.ts';

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const two = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  return h ? `${h}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}` : `${Math.floor(s / 60)}:${two(s % 60)}`;
}

export class TrainProgress {
  private stepSeconds = 0;
  private steps = 0;
  private images = 0;
  private lastShown = 0;
  private recentLoss: number[] = [];

  constructor(private readonly stream: ProgressStream, private readonly every = 10) {}

  step(r: StepReport): void {
    this.steps++;
    this.stepSeconds += r.seconds;
    this.images += r.images;
    this.recentLoss.push(r.loss);
    if (this.recentLoss.length > 20) this.recentLoss.shift();
    const now = Date.now();
    const last = r.step === r.totalSteps;
    if (!last && now - this.lastShown < (this.stream.isTTY ? 200 : this.every * 1000)) return;
    this.lastShown = now;
    const loss = this.recentLoss.reduce((a, b) => a + b, 0) / this.recentLoss.length;
    const rate = this.stepSeconds > 0 ? this.images / this.stepSeconds : 0;
    const eta = (this.stepSeconds / this.steps) * (r.totalSteps - r.step);
    const text = `epoch ${r.epoch}/${r.epochs} step ${r.stepInEpoch}/${r.stepsInEpoch} loss ${loss.toFixed(4)} active ${r.active}/${r.triplets} ${rate.toFixed(1)} images/s lr ${r.lr.toExponential(2)} ETA ${clock(eta)}`;
    if (this.stream.isTTY) {
      const width = 20;
      const filled = Math.round((width * r.step) / r.totalSteps);
      this.stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
    } else this.stream.write(`train: ${text}\n`);
  }

  epoch(e: EpochRecord, epochs: number): void {
    const v = e.validation;
    const val = v ? `, validation accuracy ${(v.accuracy * 100).toFixed(2)}% +- ${(v.std * 100).toFixed(2)}, TAR ${(v.tarAtFar1e3 * 100).toFixed(2)}% at FAR 1e-3 (${v.pairs} pairs)` : '';
    this.stream.write(`${this.stream.isTTY ? '\r\x1b[K' : ''}epoch ${e.epoch}/${epochs}: mean loss ${e.loss.toFixed(4)}, ${(e.activeFraction * 100).toFixed(0)}% of triplets active${val}, ${clock(e.seconds)}; checkpoint written\n`);
  }
}
