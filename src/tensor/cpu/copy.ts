// Copies between Float32Arrays at offsets. `dst.set(src.subarray(a, b), at)` allocates a view
// per call, which costs more than the copy itself for the short runs of small feature maps
// (R-Net's 3x3 outputs: 9 floats per channel and crop); those go through a loop instead.

/** Below this many floats a plain loop is the cheaper copy. */
const SHORT = 32;

/** dst[at ... at + n) = src[from ... from + n). */
export function copyFloats(dst: Float32Array, at: number, src: Float32Array, from: number, n: number): void {
  if (n < SHORT) {
    for (let i = 0; i < n; i++) dst[at + i] = src[from + i];
    return;
  }
  dst.set(src.subarray(from, from + n), at);
}
