// The failures of a training run that the user fixes by changing its input or its settings.
import { TsfaceError } from '../errors.ts';

/** The training folder cannot give a run: too few identities with usable photos. */
export class TrainingDataError extends TsfaceError {
  constructor(message: string) {
    super('E_TRAINING_DATA', message);
  }
}

/** The loss or the weights stopped being finite: the step size overshot. */
export class TrainingDivergedError extends TsfaceError {
  constructor(readonly step: number, readonly epoch: number, what: string, lr: number) {
    super('E_DIVERGED', `${what} at step ${step} (epoch ${epoch}) with learning rate ${lr}: the run diverged; try a lower --lr (e.g. ${lr / 10}). Nothing was written for this epoch; the last checkpoint is kept`);
  }
}
