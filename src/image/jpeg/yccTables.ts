// libjpeg's YCbCr -> RGB tables (16-bit fixed point) and its range limit, shared by every
// converter so that all of them round exactly as libjpeg-turbo does.
const ONE_HALF = 1 << 15;
const fix = (x: number) => Math.floor(x * 65536 + 0.5);
export const CR_R = new Int32Array(256);
export const CB_B = new Int32Array(256);
export const CR_G = new Int32Array(256);
export const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (fix(1.402) * x + ONE_HALF) >> 16;
  CB_B[i] = (fix(1.772) * x + ONE_HALF) >> 16;
  CR_G[i] = -fix(0.71414) * x;
  CB_G[i] = -fix(0.34414) * x + ONE_HALF;
}

/** Saturates -256..511 to a sample, as libjpeg's range-limit table does. */
export const LIMIT = new Uint8Array(1024);
for (let i = 0; i < 1024; i++) LIMIT[i] = Math.max(0, Math.min(255, i - 256));
