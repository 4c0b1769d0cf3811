// Whether the decoder may use its WebAssembly SIMD kernels (idctSimd.ts, yccSimd.ts). Engines
// without SIMD take the scalar code anyway; tests turn the kernels off to hold the two paths
// to the same pixels and the same errors.
let allowed = true;

export function allowJpegSimd(on: boolean): void {
  allowed = on;
}

export function jpegSimdAllowed(): boolean {
  return allowed;
}
