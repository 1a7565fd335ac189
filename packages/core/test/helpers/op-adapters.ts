/**
 * The TypeScript side of the op table: for every op name used in the fixtures, how to call the
 * public API with a case's inputs and attributes. The golden test and the finite-difference check
 * both run through it; the golden test asserts it and the fixtures cover each other exactly.
 */
import * as mz from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import type { Attrs } from './fixtures.js';

type S = mz.TensorOrScalar;
/** `inputs` in fixture order; `named` holds the optional ones (bias, weight, mask, ...) by name. */
export type Adapter = (inputs: Tensor[], attrs: Attrs, named: Record<string, Tensor>) => Tensor | Tensor[];

const unary = (f: (x: Tensor) => Tensor): Adapter => (x) => f(x[0]!);
const binary =
  (f: (a: S, b: S) => Tensor): Adapter =>
  (x, a) =>
    a.scalar === undefined ? f(x[0]!, x[1]!) : a.scalarFirst ? f(a.scalar, x[0]!) : f(x[0]!, a.scalar);
const convPadding = (p: Attrs['padding']) => p as number | [number, number] | 'same' | 'valid' | undefined;
const pair = (p: Attrs['padding']) => p as number | [number, number] | undefined;

export const ADAPTERS: Record<string, Adapter> = {
  // elementwise
  neg: unary(mz.neg),
  abs: unary(mz.abs),
  exp: unary(mz.exp),
  log: unary(mz.log),
  log1p: unary(mz.log1p),
  sqrt: unary(mz.sqrt),
  rsqrt: unary(mz.rsqrt),
  sin: unary(mz.sin),
  cos: unary(mz.cos),
  tanh: unary(mz.tanh),
  sigmoid: unary(mz.sigmoid),
  erf: unary(mz.erf),
  sign: unary(mz.sign),
  floor: unary(mz.floor),
  square: unary(mz.square),
  add: binary(mz.add),
  sub: binary(mz.sub),
  mul: binary(mz.mul),
  div: binary(mz.div),
  pow: binary(mz.pow),
  maximum: binary(mz.maximum),
  minimum: binary(mz.minimum),
  eq: binary(mz.eq),
  ne: binary(mz.ne),
  lt: binary(mz.lt),
  le: binary(mz.le),
  gt: binary(mz.gt),
  ge: binary(mz.ge),
  where: (x, a) => mz.where(x[0]!, x[1]!, x[2] ?? a.scalar!),
  clamp: (x, a, n) => mz.clamp(x[0]!, n.min ?? a.min, n.max ?? a.max),
  // activation
  relu: unary(mz.relu),
  leakyRelu: (x, a) => mz.leakyRelu(x[0]!, a.negativeSlope),
  gelu: (x, a) => mz.gelu(x[0]!, a.approximate),
  silu: unary(mz.silu),
  softplus: (x, a) => mz.softplus(x[0]!, a.beta, a.threshold),
  softmax: (x, a) => mz.softmax(x[0]!, a.dim as number),
  logSoftmax: (x, a) => mz.logSoftmax(x[0]!, a.dim as number),
  dropout: (x, a) => mz.dropout(x[0]!, a.p, { training: a.training }),
  // reduce (the tensor methods, so they are covered too)
  sum: (x, a) => x[0]!.sum(a.dim, { keepdim: a.keepdim }),
  mean: (x, a) => x[0]!.mean(a.dim, { keepdim: a.keepdim }),
  var: (x, a) => mz.variance(x[0]!, a.dim, { keepdim: a.keepdim, correction: a.correction }),
  std: (x, a) => x[0]!.std(a.dim, { keepdim: a.keepdim, correction: a.correction }),
  max: (x, a) => mz.max(x[0]!, a.dim, { keepdim: a.keepdim }),
  min: (x, a) => x[0]!.min(a.dim, { keepdim: a.keepdim }),
  argmax: (x, a) => mz.argmax(x[0]!, a.dim as number | undefined, { keepdim: a.keepdim }),
  argmin: (x, a) => mz.argmin(x[0]!, a.dim as number | undefined, { keepdim: a.keepdim }),
  logsumexp: (x, a) => mz.logsumexp(x[0]!, a.dim!, { keepdim: a.keepdim }),
  // linalg
  matmul: (x) => mz.matmul(x[0]!, x[1]!),
  linear: (x, _a, n) => mz.linear(x[0]!, x[1]!, n.bias),
  // shape
  reshape: (x, a) => mz.reshape(x[0]!, a.shape!),
  view: (x, a) => x[0]!.view(a.shape!),
  flatten: (x, a) => mz.flatten(x[0]!, a.startDim, a.endDim),
  squeeze: (x, a) => mz.squeeze(x[0]!, a.dim),
  unsqueeze: (x, a) => mz.unsqueeze(x[0]!, a.dim as number),
  permute: (x, a) => mz.permute(x[0]!, a.dims!),
  transpose: (x, a) => mz.transpose(x[0]!, a.dim0, a.dim1),
  expand: (x, a) => mz.expand(x[0]!, a.shape!),
  repeat: (x, a) => mz.repeat(x[0]!, a.repeats!),
  cat: (x, a) => mz.cat(x, a.dim as number),
  stack: (x, a) => mz.stack(x, a.dim as number),
  split: (x, a) => mz.split(x[0]!, a.splitSize!, a.dim as number),
  chunk: (x, a) => mz.chunk(x[0]!, a.chunks!, a.dim as number),
  slice: (x, a) => mz.slice(x[0]!, a.dim as number, a.start, a.end, a.step),
  narrow: (x, a) => mz.narrow(x[0]!, a.dim as number, a.start!, a.length!),
  pad: (x, a) => mz.pad(x[0]!, a.padding as number[], a.value),
  // index
  indexSelect: (x, a) => mz.indexSelect(x[0]!, a.dim as number, x[1]!),
  gather: (x, a) => mz.gather(x[0]!, a.dim as number, x[1]!),
  scatterAdd: (x, a) => mz.scatterAdd(x[0]!, a.dim as number, x[1]!, x[2]!),
  indexAdd: (x, a) => mz.indexAdd(x[0]!, a.dim as number, x[1]!, x[2]!),
  embedding: (x, a) => mz.embedding(x[0]!, x[1]!, a.paddingIdx),
  oneHot: (x, a) => mz.oneHot(x[0]!, a.numClasses!),
  // convolution, pooling, resizing
  conv1d: (x, a, n) => mz.conv1d(x[0]!, x[1]!, n.bias, { stride: a.stride as number, padding: a.padding as number | 'same', dilation: a.dilation as number, groups: a.groups }),
  conv2d: (x, a, n) => mz.conv2d(x[0]!, x[1]!, n.bias, { stride: a.stride, padding: convPadding(a.padding), dilation: a.dilation, groups: a.groups }),
  convTranspose2d: (x, a, n) =>
    mz.convTranspose2d(x[0]!, x[1]!, n.bias, { stride: a.stride, padding: pair(a.padding), outputPadding: a.outputPadding, dilation: a.dilation, groups: a.groups }),
  maxPool2d: (x, a) => mz.maxPool2d(x[0]!, a.kernelSize!, { stride: a.stride, padding: pair(a.padding), dilation: a.dilation }),
  avgPool2d: (x, a) => mz.avgPool2d(x[0]!, a.kernelSize!, { stride: a.stride, padding: pair(a.padding), countIncludePad: a.countIncludePad }),
  adaptiveAvgPool2d: (x, a) => mz.adaptiveAvgPool2d(x[0]!, a.outputSize!),
  interpolate: (x, a) => mz.interpolate(x[0]!, { size: a.size, scaleFactor: a.scaleFactor, mode: a.mode, alignCorners: a.alignCorners }),
  // normalisation: batchNorm returns the updated running statistics as extra outputs
  layerNorm: (x, a, n) => mz.layerNorm(x[0]!, a.normalizedShape!, n.weight, n.bias, a.eps),
  groupNorm: (x, a, n) => mz.groupNorm(x[0]!, a.numGroups!, n.weight, n.bias, a.eps),
  batchNorm: (x, a, n) => {
    const rm = n.runningMean ?? null;
    const rv = n.runningVar ?? null;
    const y = mz.batchNorm(x[0]!, rm, rv, n.weight, n.bias, { training: a.training, momentum: a.momentum, eps: a.eps });
    return a.training !== false && rm && rv ? [y, rm, rv] : y;
  },
  // attention
  scaledDotProductAttention: (x, a, n) => mz.scaledDotProductAttention(x[0]!, x[1]!, x[2]!, { attnMask: n.mask, isCausal: a.isCausal, scale: a.scale }),
  // losses
  mseLoss: (x, a) => mz.mseLoss(x[0]!, x[1]!, a.reduction as mz.Reduction),
  l1Loss: (x, a) => mz.l1Loss(x[0]!, x[1]!, a.reduction as mz.Reduction),
  smoothL1Loss: (x, a) => mz.smoothL1Loss(x[0]!, x[1]!, a.reduction as mz.Reduction, a.beta),
  crossEntropy: (x, a, n) =>
    mz.crossEntropy(x[0]!, x[1]!, { weight: n.weight, ignoreIndex: a.ignoreIndex, reduction: a.reduction as mz.Reduction, labelSmoothing: a.labelSmoothing }),
  nllLoss: (x, a, n) => mz.nllLoss(x[0]!, x[1]!, { weight: n.weight, ignoreIndex: a.ignoreIndex, reduction: a.reduction as mz.Reduction }),
  binaryCrossEntropyWithLogits: (x, a, n) =>
    mz.binaryCrossEntropyWithLogits(x[0]!, x[1]!, { weight: n.weight, posWeight: n.posWeight, reduction: a.reduction as mz.Reduction }),
  klDiv: (x, a) => mz.klDiv(x[0]!, x[1]!, { reduction: a.reduction, logTarget: a.logTarget }),
};

/** Runs a case's op; always returns a list of outputs. */
export function runAdapter(op: string, inputs: Tensor[], attrs: Attrs, named: Record<string, Tensor>): Tensor[] {
  const adapter = ADAPTERS[op];
  if (!adapter) throw new Error(`no adapter for op '${op}'`);
  const out = adapter(inputs, attrs, named);
  return Array.isArray(out) ? out : [out];
}
