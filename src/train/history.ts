// What a run records per epoch: the curves' points and the figures the output's metadata quotes.
export interface EpochRecord {
  epoch: number;
  /** Mean training loss over the epoch's steps. */
  loss: number;
  /** Per-step losses, for the loss curve. */
  stepLosses: number[];
  /** Mean fraction of mined triplets with a positive loss. */
  activeFraction: number;
  validation?: { accuracy: number; std: number; tarAtFar1e3: number; pairs: number };
  seconds: number;
}
