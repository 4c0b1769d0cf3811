export { createRuntime, type Runtime } from '../runtime.ts';
