/**
 * @methodzoo/core: tensors on pluggable backends, reverse-mode autograd, nn modules, optimisers,
 * data loading and safetensors I/O.
 */
import './tensor-methods.js';

export { Tensor, Storage, toBackend, memory, noGrad, enableGrad, isGradEnabled, scope, keep, runPrim, type MemoryInfo, type GradHook } from './tensor.js';
export type { DType, FloatDType, TypedArray } from './dtype.js';
export { isFloat, promoteTypes } from './dtype.js';
export { OpError, type Shape } from './shape.js';
export type { Backend, Kernel, KernelTable, KernelTensor } from './backend.js';
export { BackendNotInstalled, KernelFallback, hasKernel } from './backend.js';
export { INFER, FUSED_PRIMS, isFusedPrim, type PrimAttrs, type PrimName, type CorePrimName, type FusedPrimName, type Conv2dGeometry, type Conv2dAttrs } from './prims.js';
export { conv2dFused, conv2dDecomposed, conv2dBackwardInput, conv2dBackwardFilter, reluBackward, reluBackwardDecomposed } from './ops/fused.js';
export { registerBackend, getBackend, setBackend, setBackendAsync, initBackends, backendInfo, type BackendFactory, type BackendInfo, type BackendStatus, type FallbackRecord } from './registry.js';
export { ReferenceBackend, referenceKernels } from './backends/reference/index.js';
export * as arrayKernels from './backends/reference/array-kernels.js';
export { Generator, defaultGenerator, manualSeed } from './random.js';
export * from './creation.js';
export * from './ops/basic.js';
export * from './ops/composite.js';
export * from './ops/nn.js';
export * from './ops/loss.js';
export { backward, grad, type BackwardOptions, type GradOptions } from './autograd/backward.js';
export { VJP, unbroadcast, type VjpRule, type VjpContext } from './autograd/vjp.js';
export * from './io/index.js';
export * as optim from './optim/index.js';
export * as data from './data/index.js';
export * as nn from './nn/index.js';
export * from './repro.js';
export { compareSeeds, seedMean, seedStd } from './repro-stats.js';
