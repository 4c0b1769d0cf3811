// Local response normalisation's settings, shared by the forward ops (backend.ts) and the backward ones (backward.ts).
export interface LrnOptions {
  /** Window of channels (odd in practice). */
  size: number;
  alpha: number;
  beta: number;
  k: number;
}
