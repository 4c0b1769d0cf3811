export { Tape, type TapeStep, type TapeOptions, type StepNeeds, type StepGrads } from '../autograd/tape.ts';
export { SGD, Adam, AdamW, clipGradNorm, type Optimizer, type NamedParameter, type SgdOptions, type AdamOptions } from './optimizers.ts';
export { stepLr, cosineLr } from './schedule.ts';
export { tripletStep, allTriplets, type TripletStepOptions, type TripletStepResult, type TripletMining } from './tripletStep.ts';
