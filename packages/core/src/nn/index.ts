/**
 * `nn`: PyTorch-shaped modules whose dotted parameter and buffer names are PyTorch's `state_dict`
 * keys. Call a module with `module.call(...)` (runs hooks) or `module.forward(...)`.
 */
export {
  Module,
  Parameter,
  emptyParameter,
  type FactoryOptions,
  type ForwardHook,
  type ForwardPreHook,
  type LoadStateDictOptions,
  type LoadStateDictResult,
  type RemovableHandle,
  type ShapeMismatch,
  type StateDict,
} from './module.js';
export * as init from './init.js';
export { Identity, Linear, type LinearOptions } from './linear.js';
export { Conv1d, Conv2d, ConvTranspose2d, type ConvOptions, type ConvTranspose2dOptions } from './conv.js';
export { BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm, type BatchNormOptions, type GroupNormOptions, type LayerNormOptions } from './normalization.js';
export { Embedding, type EmbeddingOptions } from './embedding.js';
export { Dropout } from './dropout.js';
export { Flatten, GELU, LeakyReLU, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh } from './activation.js';
export { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, type AvgPool2dOptions, type MaxPool2dOptions } from './pooling.js';
export { ModuleDict, ModuleList, Sequential } from './container.js';
export { MultiheadAttention, type MultiheadAttentionForwardOptions, type MultiheadAttentionOptions } from './attention.js';
