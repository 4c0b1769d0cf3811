// Where the package's own files are: the platform's answer (a path in Node, a URL in a page).
export { packageRoot, bundledWeightsLocation as bundledWeights } from './platform/index.ts';
