// Learning-rate schedules as functions of the step (0-based), giving what torch's schedulers
// give at that step: StepLR, and LinearLR warm-up followed by CosineAnnealingLR (SequentialLR).

/** torch's StepLR: the rate times gamma after every `stepSize` steps (multiplied step by step, as torch does). */
export function stepLr(base: number, step: number, stepSize: number, gamma = 0.1): number {
  let lr = base;
  for (let k = 0; k < Math.floor(step / stepSize); k++) lr *= gamma;
  return lr;
}

/**
 * Cosine annealing from `base` to `minLr` over the steps after the warm-up, then `minLr`. The
 * warm-up is torch's LinearLR(start_factor = 1 / warmupSteps): the rate grows linearly from
 * base / warmupSteps and reaches base at step warmupSteps, where the cosine starts.
 */
export function cosineLr(base: number, step: number, totalSteps: number, minLr = 0, warmupSteps = 0): number {
  if (step < warmupSteps) {
    const start = 1 / warmupSteps;
    return base * (start + ((1 - start) * step) / warmupSteps);
  }
  const span = totalSteps - warmupSteps;
  const t = step - warmupSteps;
  if (span <= 0 || t >= span) return minLr;
  return minLr + ((base - minLr) * (1 + Math.cos((Math.PI * t) / span))) / 2;
}
