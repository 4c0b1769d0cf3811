export * from './layer.ts';
export * from './activation.ts';
export * from './conv.ts';
export * from './pool.ts';
export * from './normalization.ts';
export * from './containers.ts';
export * from './weights.ts';
