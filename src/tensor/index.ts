export * from '../errors.ts';
export * from './tensor.ts';
export * from './geometry.ts';
export type * from './backend.ts';
export type * from './backward.ts';
export { CpuBackend, type CpuBackendOptions } from './cpu/backend.ts';
export { foldBatchNorm } from './foldBatchNorm.ts';
export { readSafetensors, writeSafetensors, halfToFloat } from './safetensors.ts';
