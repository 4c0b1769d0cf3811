// Every failure tsface reports on purpose is one of these, so callers can branch on `code`
// (or `instanceof`) instead of parsing messages.

export class TsfaceError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An op received tensors whose shapes do not fit together. */
export class ShapeError extends TsfaceError {
  constructor(op: string, message: string, readonly shapes: readonly (readonly number[])[] = []) {
    const shown = shapes.length ? ` (shapes: ${shapes.map((s) => `[${s.join(', ')}]`).join(' vs ')})` : '';
    super('E_SHAPE', `${op}: ${message}${shown}`);
  }
}

/** A weights file is malformed, truncated, or does not hold what a layer expects. */
export class WeightsError extends TsfaceError {
  constructor(readonly file: string, readonly tensor: string | null, message: string) {
    super('E_WEIGHTS', `${file}${tensor ? ` [${tensor}]` : ''}: ${message}`);
  }
}

/** An image cannot be decoded or is outside the limits tsface accepts. */
export class ImageError extends TsfaceError {
  constructor(message: string, readonly source?: string) {
    super('E_IMAGE', source ? `${source}: ${message}` : message);
  }
}

/** Numeric input that no net can give a meaningful answer for (NaN, infinity). */
export class InputValueError extends TsfaceError {
  constructor(message: string) {
    super('E_INPUT', message);
  }
}

/** An argument outside the range an API accepts (negative face size, unknown option...). */
export class ArgumentError extends TsfaceError {
  constructor(message: string) {
    super('E_ARGUMENT', message);
  }
}

/** Work stopped because the caller's AbortSignal fired (a deadline, a closed request). */
export class AbortedError extends TsfaceError {
  constructor(readonly reason: unknown) {
    super('E_ABORTED', `aborted: ${reason instanceof Error ? reason.message : String(reason ?? 'signal aborted')}`);
  }
}

/** Throws an AbortedError when the signal has fired: work stops between stages, never inside a kernel. */
export function checkSignal(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError(signal.reason);
}

/** Something this host cannot do (a file path in the browser, a synchronous weights load there). */
export class PlatformError extends TsfaceError {
  constructor(message: string) {
    super('E_PLATFORM', message);
  }
}

/** A feature needs an npm package that is not installed beside tsface (an optional peer: gpu.js in Node, the queue's bullmq and ioredis). */
export class MissingPackageError extends TsfaceError {
  readonly packages: readonly string[];
  constructor(feature: string, packages: readonly string[]) {
    super('E_MISSING_PACKAGE', `${feature} needs ${packages.join(' and ')}, which tsface does not install: run \`npm i ${packages.join(' ')}\``);
    this.packages = packages;
  }
}
