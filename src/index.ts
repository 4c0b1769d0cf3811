// tsface: face detection (MTCNN), a small NCHW runtime with a CPU fallback, safetensors weights.
export * from './tensor/index.ts';
export * from './layers/index.ts';
export { Net } from './nets/net.ts';
export { PNet, RNet, ONet } from './nets/mtcnn.ts';
export { loadMtcnn, BUNDLED_MTCNN, type MtcnnNets } from './nets/weights.ts';
export { FaceDetector, detectFaces, detectFacesBatch, pyramidScales } from './pipeline/mtcnn.ts';
export type { Face, DetectOptions, Detection, DetectionReport, FaceSelection, FaceDetectorOptions } from './pipeline/mtcnn.ts';
export { decodeImage, toRgbImage, DEFAULT_MAX_PIXELS } from './pipeline/image.ts';
export type { RgbImage, RawImage, ImageInput, DecodeOptions } from './pipeline/image.ts';
export { nmsUnion, nmsMin } from './pipeline/nms.ts';
export { drawFaces, Canvas } from './pipeline/draw.ts';
export { readNpy, NpyError } from './tensor/npy.ts';
