/**
 * @methodzoo/mirror-gradient: Mirror Gradient: Towards Robust Multimodal Recommender Systems via Exploring Flat Local Minima (arXiv:2402.11262).
 */
export { mirrorGradient, MirrorGradient, type MirrorCounter, type MirrorEvent, type MirrorGradientOptions, type MirrorPhase } from './mirror.js';
export { BprMf, Vbpr, LightGcn, bprLoss, embNormLoss, concatFeatures, sampleBprBatches, trainSets, type BprBatch, type BprMfOptions, type Interactions, type LightGcnOptions, type Recommender, type VbprOptions } from './recsys.js';
export { evaluateRanking, aggregateMetrics, topKIndices, userMetrics, type EvaluateOptions, type TopKMetrics } from './metrics.js';
export { parseNpy, npyToTensor, type NpyArray } from './npy.js';
export { parseInter, loadMmrec, type MmrecData } from './mmrec.js';
export { gaussianFeatureNoise, informationAdjustment, gradientNorm, sharpnessProxy, type SharpnessOptions } from './robust.js';
export { repro } from './repro.js';
