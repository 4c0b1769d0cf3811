// The CPU backend's backward kernels, one file per op family.
export { preluBackward, reluBackward } from './activations.ts';
export { batchNormBackward, batchStats } from './batchNorm.ts';
export { crop2d, l2NormalizeBackward, sliceChannels, softmaxBackward, sumChannels } from './channels.ts';
export { denseInputGrad, denseWeightGrad } from './dense.ts';
export { lrnBackward } from './lrnBackward.ts';
export { avgPool2dBackward, l2Pool2dBackward, maxPool2dBackward } from './poolBackward.ts';
export { batchNormBackwardUnrolled, batchStatsUnrolled } from './batchNormUnrolled.ts';
export { lrnBackwardRows } from './lrnBackwardRows.ts';
export { maxPool2dBackwardRows } from './maxPoolBackwardRows.ts';
export { simdPreluBackward, simdReluBackward } from './simdActivations.ts';
export { simdLrnBackward } from './simdLrnBackward.ts';
export { sumChannelsUnrolled } from './sumChannelsUnrolled.ts';
