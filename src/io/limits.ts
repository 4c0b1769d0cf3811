// How many bytes tsface reads from one file of each kind, unless a caller passes its own
// `maxBytes`. A file is read whole into memory, so the limit is also the memory it can cost;
// the figures leave room for the largest real inputs tsface knows (a 50-megapixel PNG stored
// almost uncompressed is about 150 MB; the bundled weights are under 20 MB).

export interface ReadLimits {
  /** Refuse a file larger than this many bytes before reading it. */
  maxBytes?: number;
}

export const DEFAULT_MAX_BYTES = {
  /** JPEG and PNG files. */
  image: 256 * 1024 * 1024,
  /** safetensors weights and converted models. */
  weights: 1024 * 1024 * 1024,
  /** FaceIndex files (JSON or safetensors). */
  index: 1024 * 1024 * 1024,
  /**
   * .npy/.npz files, and each array inflated out of an .npz. An inflated array is held about
   * twice (the inflated bytes and the float32 copy), so 256 MiB keeps the worst .npz under 1 GB;
   * the largest arrays tsface reads (per-layer references for crosscheck) are tens of MB.
   */
  array: 256 * 1024 * 1024,
  /** Text inputs: LFW pairs lists, CSV weight dumps, JSON reference indexes and name maps. */
  text: 256 * 1024 * 1024,
} as const;
