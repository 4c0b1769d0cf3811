// tsface: face detection (MTCNN), alignment and recognition (MobileFaceNet, the FaceNet Inception
// family) on a small NCHW runtime with a CPU backend and gpu.js kernels.
export * from './tensor/index.ts';
export * from './layers/index.ts';
export { createRuntime, parseBackendSpec, type Runtime, type RuntimeOptions } from './runtime.ts';
export { GpujsBackend, gpujsAvailability, type GpujsMode, type GpujsBackendOptions } from './tensor/gpujs/backend.ts';
export { readNpy, NpyError } from './tensor/npy.ts';
export { readNpz } from './tensor/npz.ts';

export { Net } from './nets/net.ts';
export { PNet, RNet, ONet } from './nets/mtcnn.ts';
export { MobileFaceNet, MOBILEFACENET_STAGES } from './nets/mobilefacenet.ts';
export { NN2, Nn4Small2, NN2_ROWS, NN4_SMALL2_ROWS } from './nets/facenet.ts';
export { buildInceptionNet, type InceptionRow, type InceptionNetSpec } from './nets/inception.ts';
export { loadMtcnn, loadMobileFaceNet, loadNn4Small2, BUNDLED_MTCNN, BUNDLED_MOBILEFACENET, type MtcnnNets } from './nets/weights.ts';

export { FaceDetector, detectFaces, detectFacesBatch, pyramidScales } from './pipeline/mtcnn.ts';
export type { Face, DetectOptions, Detection, DetectionReport, FaceSelection, FaceDetectorOptions, StageBoxes } from './pipeline/mtcnn.ts';
export { TRACK_DEFAULTS } from './pipeline/track.ts';
export type { TrackOptions, TrackFrame, TrackedFace, TrackSource, TrackEmbedder, DetectReason, PnetWindow, Square } from './pipeline/track.ts';
export { boxIoU } from './pipeline/faceTracks.ts';
export { decodeImage, toRgbImage, DEFAULT_MAX_PIXELS } from './image/decode.ts';
export type { RgbImage, RawImage, ImageInput, DecodeOptions } from './image/decode.ts';
export { nmsUnion, nmsMin } from './pipeline/nms.ts';
export { drawFaces, Canvas } from './image/draw.ts';
export { alignFace, similarityTransform, warpAffine, TEMPLATE_112, TEMPLATE_96, type Affine } from './pipeline/align.ts';
export { FaceEmbedder, embed, embeddingModel, registerEmbeddingModel, MOBILEFACENET, NN4_SMALL2_V1, type EmbeddedFace, type EmbeddingModelSpec } from './pipeline/embed.ts';
export { cosineSimilarity, squaredL2, distance, verify, FaceIndex, IndexFileError, type Verdict, type IndexHit } from './pipeline/verify.ts';
export { tripletLoss, batchHardTriplets, semiHardTriplets, type Triplet, type TripletLossResult } from './pipeline/triplet.ts';
export { parsePairs, loadPairs, evaluatePairs, bestThreshold, type LfwPair, type LfwResult } from './pipeline/lfw.ts';

export { trace, tensorStats, type TraceEntry, type TensorStats } from './inspect/trace.ts';
export { summary, formatSummary, type Summary } from './inspect/summary.ts';
export { crosscheck, loadReference, formatCrosscheck, builtinNameMap, type CrosscheckReport, type Reference } from './inspect/crosscheck.ts';

export * from './train/index.ts';
export { train, TRAIN_DEFAULTS, curvesPath, type TrainOptions, type StepReport, type TrainResult } from './train/trainLoop.ts';
export { TrainingDataError, TrainingDivergedError } from './train/errors.ts';
export { parseDegradation, degrade } from './train/degrade.ts';
