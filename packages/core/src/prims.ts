/**
 * The closed set of primitive kernels every backend implements (or borrows from the reference
 * backend). Everything else (softmax, norms, attention, losses, conv) is composed from these in
 * `ops/`, so its gradient comes for free. Each primitive has shape/dtype inference here and a
 * vector-Jacobian rule in `autograd/vjp.ts`, typed so a missing rule is a compile error.
 */
import { type DType, isFloat } from './dtype.js';
import { OpError, broadcastShapes, fmtShape, type Shape, shapeSize } from './shape.js';

export const UNARY_OPS = ['neg', 'abs', 'exp', 'log', 'log1p', 'sqrt', 'rsqrt', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'sign', 'erf', 'floor'] as const;
export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'] as const;
export const COMPARE_OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];
export type BinaryOp = (typeof BINARY_OPS)[number];
export type CompareOp = (typeof COMPARE_OPS)[number];

export interface Conv2dGeometry {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
}

type NoAttrs = Record<string, never>;

/** Attributes of the fused convolution kernels: PyTorch's conv2d arguments (symmetric padding). */
export interface Conv2dAttrs {
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

/**
 * Fused composites: primitives a backend MAY implement (the reference backend has `reluBackward`).
 * They have shape inference and gradient rules like any primitive, but no reference fallback: ops
 * call them only when the tensors' backend has the kernel (`hasKernel`), and otherwise run the
 * decomposition.
 */
export const FUSED_PRIMS = ['conv2d', 'conv2dBackwardInput', 'conv2dBackwardFilter', 'reluBackward'] as const;
export type FusedPrimName = (typeof FUSED_PRIMS)[number];

/** Attributes of each primitive. Reductions keep reduced dims (size 1); callers reshape. */
export type PrimAttrs = { [K in UnaryOp | BinaryOp | CompareOp]: NoAttrs } & {
  where: NoAttrs;
  cast: { dtype: DType };
  sum: { axes: number[] };
  max: { axes: number[] };
  min: { axes: number[] };
  argmax: { axis: number };
  argmin: { axis: number };
  reshape: { shape: number[] };
  permute: { perm: number[] };
  expand: { shape: number[] };
  slice: { begin: number[]; end: number[]; step: number[] };
  /** Adjoint of slice: places the input at the sliced positions of a zero tensor of `shape`. */
  unslice: { shape: number[]; begin: number[]; end: number[]; step: number[] };
  pad: { before: number[]; after: number[]; value: number };
  cat: { axis: number };
  /** [B|1, M, K] x [B|1, K, N] -> [B, M, N]; trans flags read the operand transposed. */
  matmul: { transA: boolean; transB: boolean };
  /** im2col: [N, C, H, W] -> [N, C*kh*kw, OH*OW]. */
  unfold: Conv2dGeometry;
  /** col2im (adjoint of unfold): [N, C*kh*kw, OH*OW] -> [N, C, H, W], overlaps summed. */
  fold: Conv2dGeometry & { outputSize: [number, number] };
  gather: { axis: number };
  scatterAdd: { axis: number };
  indexSelect: { axis: number };
  indexAdd: { axis: number };
  /** x [N, C, H, W] (*) weight [O, C/groups, kh, kw] -> [N, O, OH, OW] (fused: optional). */
  conv2d: Conv2dAttrs;
  /** Gradient of conv2d wrt its input: grad [N, O, OH, OW], weight -> [N, C, ...inputSize] (fused: optional). */
  conv2dBackwardInput: Conv2dAttrs & { inputSize: [number, number] };
  /** Gradient of conv2d wrt its weight: x [N, C, H, W], grad [N, O, OH, OW] -> [O, C/groups, ...kernel] (fused: optional). */
  conv2dBackwardFilter: Conv2dAttrs & { kernel: [number, number] };
  /** Gradient of relu: grad where x > 0, else 0 (grad and x of one shape and float dtype; fused: optional). */
  reluBackward: NoAttrs;
};
export type PrimName = keyof PrimAttrs;
/** The primitives every backend runs (natively or through the reference fallback). */
export type CorePrimName = Exclude<PrimName, FusedPrimName>;
export function isFusedPrim(name: PrimName): name is FusedPrimName {
  return (FUSED_PRIMS as readonly string[]).includes(name);
}

export interface TensorMeta {
  readonly shape: Shape;
  readonly dtype: DType;
}
export interface OutMeta {
  shape: number[];
  dtype: DType;
}

function requireFloat(op: string, arg: string, t: TensorMeta): void {
  if (!isFloat(t.dtype)) throw new OpError(op, `${arg} must be a floating-point tensor, got ${t.dtype}`);
}
function sameDType(op: string, a: TensorMeta, b: TensorMeta): void {
  if (a.dtype !== b.dtype) throw new OpError(op, `operands have different dtypes (${a.dtype} vs ${b.dtype})`);
}
function checkIndex(op: string, t: TensorMeta): void {
  if (t.dtype !== 'int32') throw new OpError(op, `index must be an int32 tensor, got ${t.dtype}`);
}

function convOut(op: string, size: number, k: number, s: number, p: number, d: number, axis: string): number {
  const out = Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
  if (out <= 0) throw new OpError(op, `${axis}: input size ${size} with kernel ${k}, stride ${s}, padding ${p}, dilation ${d} gives an empty output`);
  return out;
}
export function convOutputSize(op: string, h: number, w: number, g: Conv2dGeometry): [number, number] {
  return [
    convOut(op, h, g.kernel[0], g.stride[0], g.padding[0], g.dilation[0], 'height'),
    convOut(op, w, g.kernel[1], g.stride[1], g.padding[1], g.dilation[1], 'width'),
  ];
}

function convGeometry(attrs: Conv2dAttrs, kernel: [number, number]): Conv2dGeometry {
  return { kernel, stride: attrs.stride, padding: attrs.padding, dilation: attrs.dilation };
}

/** Checks a fused convolution's operands: NCHW activations, OIHW weights, channels by groups. */
function convOperands(op: string, x: TensorMeta, xArg: string, w: TensorMeta, groups: number): void {
  if (x.shape.length !== 4) throw new OpError(op, `${xArg} must be 4-D (N x C x H x W), got ${fmtShape(x.shape)}`);
  if (w.shape.length !== 4) throw new OpError(op, `weight must be 4-D (out_channels x in_channels/groups x kH x kW), got ${fmtShape(w.shape)}`);
  sameDType(op, x, w);
  requireFloat(op, xArg, x);
  if (!Number.isInteger(groups) || groups < 1 || w.shape[0]! % groups !== 0) throw new OpError(op, `groups=${groups} must divide out_channels ${w.shape[0]}`);
}

type Infer<K extends PrimName> = (inputs: readonly TensorMeta[], attrs: PrimAttrs[K]) => OutMeta;

const unaryInfer: Infer<UnaryOp> = ([x]) => {
  return { shape: [...x!.shape], dtype: x!.dtype };
};
const binaryInfer =
  (op: string): Infer<BinaryOp> =>
  ([a, b]) => {
    sameDType(op, a!, b!);
    if (a!.dtype === 'bool') throw new OpError(op, 'arithmetic on bool tensors is not supported; cast first');
    return { shape: broadcastShapes(op, a!.shape, b!.shape), dtype: a!.dtype };
  };
const compareInfer =
  (op: string): Infer<CompareOp> =>
  ([a, b]) => {
    sameDType(op, a!, b!);
    return { shape: broadcastShapes(op, a!.shape, b!.shape), dtype: 'bool' };
  };
const reduceInfer =
  (op: string): Infer<'sum' | 'max' | 'min'> =>
  ([x], { axes }) => {
    if (x!.dtype === 'bool' && op !== 'sum') throw new OpError(op, 'not defined for bool tensors');
    const shape = x!.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    if (op !== 'sum') for (const a of axes) if (x!.shape[a] === 0) throw new OpError(op, `cannot reduce over empty dim ${a}`);
    return { shape, dtype: x!.dtype === 'bool' ? 'int32' : x!.dtype };
  };
const argInfer: Infer<'argmax' | 'argmin'> = ([x], { axis }) => ({
  shape: x!.shape.map((d, i) => (i === axis ? 1 : d)),
  dtype: 'int32',
});

function sliceShape(op: string, shape: Shape, begin: number[], end: number[], step: number[]): number[] {
  return shape.map((d, i) => {
    const b = begin[i]!, e = end[i]!, s = step[i]!;
    if (!(s > 0) || b < 0 || e > d || b > e) throw new OpError(op, `invalid range ${b}:${e}:${s} for dim ${i} of size ${d}`);
    return Math.ceil((e - b) / s);
  });
}

function gatherLike(op: string, x: TensorMeta, index: TensorMeta, axis: number): void {
  checkIndex(op, index);
  if (index.shape.length !== x.shape.length) {
    throw new OpError(op, `index must have the same number of dims as input (${x.shape.length}), got ${fmtShape(index.shape)}`);
  }
  for (let i = 0; i < x.shape.length; i++) {
    if (i !== axis && index.shape[i]! > x.shape[i]!) {
      throw new OpError(op, `index shape ${fmtShape(index.shape)} exceeds input shape ${fmtShape(x.shape)} at dim ${i}`);
    }
  }
}

export const INFER: { [K in PrimName]: Infer<K> } = {
  ...(Object.fromEntries(UNARY_OPS.map((op) => [op, unaryInfer])) as { [K in UnaryOp]: Infer<K> }),
  ...(Object.fromEntries(BINARY_OPS.map((op) => [op, binaryInfer(op)])) as { [K in BinaryOp]: Infer<K> }),
  ...(Object.fromEntries(COMPARE_OPS.map((op) => [op, compareInfer(op)])) as { [K in CompareOp]: Infer<K> }),
  where: ([c, a, b]) => {
    if (c!.dtype !== 'bool') throw new OpError('where', `condition must be bool, got ${c!.dtype}`);
    sameDType('where', a!, b!);
    return { shape: broadcastShapes('where', broadcastShapes('where', c!.shape, a!.shape), b!.shape), dtype: a!.dtype };
  },
  cast: ([x], { dtype }) => ({ shape: [...x!.shape], dtype }),
  sum: reduceInfer('sum'),
  max: reduceInfer('max'),
  min: reduceInfer('min'),
  argmax: argInfer,
  argmin: argInfer,
  reshape: ([x], { shape }) => {
    if (shapeSize(shape) !== shapeSize(x!.shape)) {
      throw new OpError('reshape', `cannot reshape ${fmtShape(x!.shape)} (${shapeSize(x!.shape)} elements) to ${fmtShape(shape)}`);
    }
    return { shape: [...shape], dtype: x!.dtype };
  },
  permute: ([x], { perm }) => {
    const sorted = [...perm].sort((p, q) => p - q);
    if (perm.length !== x!.shape.length || sorted.some((p, i) => p !== i)) {
      throw new OpError('permute', `dims ${JSON.stringify(perm)} is not a permutation of ${x!.shape.length} dims`);
    }
    return { shape: perm.map((p) => x!.shape[p]!), dtype: x!.dtype };
  },
  expand: ([x], { shape }) => {
    const off = shape.length - x!.shape.length;
    if (off < 0 || x!.shape.some((d, i) => d !== 1 && d !== shape[i + off])) {
      throw new OpError('expand', `cannot expand ${fmtShape(x!.shape)} to ${fmtShape(shape)}`);
    }
    return { shape: [...shape], dtype: x!.dtype };
  },
  slice: ([x], { begin, end, step }) => ({ shape: sliceShape('slice', x!.shape, begin, end, step), dtype: x!.dtype }),
  unslice: ([x], { shape, begin, end, step }) => {
    const expected = sliceShape('unslice', shape, begin, end, step);
    if (expected.join() !== x!.shape.join()) throw new OpError('unslice', `input ${fmtShape(x!.shape)} does not match slice shape ${fmtShape(expected)}`);
    return { shape: [...shape], dtype: x!.dtype };
  },
  pad: ([x], { before, after }) => ({ shape: x!.shape.map((d, i) => d + before[i]! + after[i]!), dtype: x!.dtype }),
  cat: (xs, { axis }) => {
    const first = xs[0]!;
    const shape = [...first.shape];
    shape[axis] = 0;
    for (const [i, t] of xs.entries()) {
      sameDType('cat', first, t);
      if (t.shape.length !== first.shape.length || t.shape.some((d, j) => j !== axis && d !== first.shape[j])) {
        throw new OpError('cat', `tensor ${i} has shape ${fmtShape(t.shape)}, incompatible with ${fmtShape(first.shape)} along dim ${axis}`);
      }
      shape[axis]! += t.shape[axis]!;
    }
    return { shape, dtype: first.dtype };
  },
  matmul: ([a, b], { transA, transB }) => {
    sameDType('matmul', a!, b!);
    requireFloat('matmul', 'input', a!);
    const [ba, m, ka] = transA ? [a!.shape[0]!, a!.shape[2]!, a!.shape[1]!] : (a!.shape as [number, number, number]);
    const [bb, kb, n] = transB ? [b!.shape[0]!, b!.shape[2]!, b!.shape[1]!] : (b!.shape as [number, number, number]);
    if (ka !== kb) throw new OpError('matmul', `inner dimensions differ: ${fmtShape(a!.shape)} x ${fmtShape(b!.shape)}`);
    if (ba !== bb && ba !== 1 && bb !== 1) throw new OpError('matmul', `batch sizes differ: ${ba} vs ${bb}`);
    return { shape: [Math.max(ba, bb), m, n], dtype: a!.dtype };
  },
  unfold: ([x], g) => {
    const [n, c, h, w] = x!.shape as [number, number, number, number];
    const [oh, ow] = convOutputSize('unfold', h, w, g);
    return { shape: [n, c * g.kernel[0] * g.kernel[1], oh * ow], dtype: x!.dtype };
  },
  fold: ([x], g) => {
    const [n, ck] = x!.shape as [number, number, number];
    const kk = g.kernel[0] * g.kernel[1];
    const [oh, ow] = convOutputSize('fold', g.outputSize[0], g.outputSize[1], g);
    if (ck % kk !== 0 || x!.shape[2] !== oh * ow) {
      throw new OpError('fold', `input ${fmtShape(x!.shape)} does not match kernel ${g.kernel} and output size ${g.outputSize}`);
    }
    return { shape: [n, ck / kk, g.outputSize[0], g.outputSize[1]], dtype: x!.dtype };
  },
  gather: ([x, index], { axis }) => {
    gatherLike('gather', x!, index!, axis);
    return { shape: [...index!.shape], dtype: x!.dtype };
  },
  scatterAdd: ([x, index, src], { axis }) => {
    gatherLike('scatterAdd', x!, index!, axis);
    sameDType('scatterAdd', x!, src!);
    if (src!.shape.join() !== index!.shape.join()) throw new OpError('scatterAdd', `src shape ${fmtShape(src!.shape)} must equal index shape ${fmtShape(index!.shape)}`);
    return { shape: [...x!.shape], dtype: x!.dtype };
  },
  indexSelect: ([x, index], { axis }) => {
    checkIndex('indexSelect', index!);
    if (index!.shape.length !== 1) throw new OpError('indexSelect', `index must be 1-D, got ${fmtShape(index!.shape)}`);
    const shape = [...x!.shape];
    shape[axis] = index!.shape[0]!;
    return { shape, dtype: x!.dtype };
  },
  conv2d: ([x, w], attrs) => {
    convOperands('conv2d', x!, 'input', w!, attrs.groups);
    const [n, c, h, wd] = x!.shape as [number, number, number, number];
    const [o, cg, kh, kw] = w!.shape as [number, number, number, number];
    if (cg * attrs.groups !== c) throw new OpError('conv2d', `weight ${fmtShape(w!.shape)} expects ${cg * attrs.groups} input channels (groups=${attrs.groups}), input has ${c}`);
    const [oh, ow] = convOutputSize('conv2d', h, wd, convGeometry(attrs, [kh, kw]));
    return { shape: [n, o, oh, ow], dtype: x!.dtype };
  },
  conv2dBackwardInput: ([g, w], attrs) => {
    convOperands('conv2dBackwardInput', g!, 'grad', w!, attrs.groups);
    const [n, o, oh, ow] = g!.shape as [number, number, number, number];
    const [wo, cg, kh, kw] = w!.shape as [number, number, number, number];
    const [h, wd] = attrs.inputSize;
    const expected = convOutputSize('conv2dBackwardInput', h, wd, convGeometry(attrs, [kh, kw]));
    if (wo !== o || expected[0] !== oh || expected[1] !== ow) {
      throw new OpError('conv2dBackwardInput', `grad ${fmtShape(g!.shape)} does not match weight ${fmtShape(w!.shape)} and input size ${h}x${wd} (expected [${n}, ${wo}, ${expected.join(', ')}])`);
    }
    return { shape: [n, cg * attrs.groups, h, wd], dtype: g!.dtype };
  },
  conv2dBackwardFilter: ([x, g], attrs) => {
    const [kh, kw] = attrs.kernel;
    const [n, c, h, wd] = x!.shape as [number, number, number, number];
    const o = g!.shape[1]!;
    convOperands('conv2dBackwardFilter', x!, 'input', { shape: [o, c / attrs.groups, kh, kw], dtype: g!.dtype }, attrs.groups);
    const [oh, ow] = convOutputSize('conv2dBackwardFilter', h, wd, convGeometry(attrs, [kh, kw]));
    if (c % attrs.groups !== 0 || g!.shape.length !== 4 || g!.shape[0] !== n || g!.shape[2] !== oh || g!.shape[3] !== ow) {
      throw new OpError('conv2dBackwardFilter', `grad ${fmtShape(g!.shape)} does not match input ${fmtShape(x!.shape)}, kernel ${kh}x${kw} and groups=${attrs.groups} (expected [${n}, O, ${oh}, ${ow}])`);
    }
    return { shape: [o, c / attrs.groups, kh, kw], dtype: x!.dtype };
  },
  reluBackward: ([g, x]) => {
    sameDType('reluBackward', g!, x!);
    requireFloat('reluBackward', 'grad', g!);
    if (fmtShape(g!.shape) !== fmtShape(x!.shape)) throw new OpError('reluBackward', `grad ${fmtShape(g!.shape)} and input ${fmtShape(x!.shape)} must have the same shape`);
    return { shape: [...x!.shape], dtype: x!.dtype };
  },
  indexAdd: ([x, index, src], { axis }) => {
    checkIndex('indexAdd', index!);
    sameDType('indexAdd', x!, src!);
    const expected = [...x!.shape];
    expected[axis] = index!.shape[0]!;
    if (index!.shape.length !== 1 || src!.shape.join() !== expected.join()) {
      throw new OpError('indexAdd', `src shape ${fmtShape(src!.shape)} must be ${fmtShape(expected)} for index ${fmtShape(index!.shape)}`);
    }
    return { shape: [...x!.shape], dtype: x!.dtype };
  },
};
