/** Optimisers, gradient clipping and learning-rate schedulers (PyTorch `torch.optim` semantics). */
export { Optimizer, stateTensor, type BaseHyper, type OptimizerStateDict, type ParamGroup, type ParamGroupInput, type Params, type ParamState } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { clipGradNorm, clipGradValue, type ClipGradNormOptions } from './clip.js';
export * as lrScheduler from './lr-scheduler.js';
