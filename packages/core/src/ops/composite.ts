/** Composite math, activation and shape ops: written once from primitives, differentiable everywhere. */
import { isFloat } from '../dtype.js';
import { fmtShape, normAxes, normAxis, OpError, type Shape } from '../shape.js';
import { noGrad, type Tensor } from '../tensor.js';
import {
  add, cast, cat, div, erf, exp, expand, log, log1p, max, mul, neg, relu, reshape, permute, sigmoid, slice, sqrt, sub, sum, tanh, where, gt, lt, abs, eq, type Dims, type ReduceOptions,
} from './basic.js';

export function mean(x: Tensor, dim?: Dims, opts: ReduceOptions = {}): Tensor {
  const axes = normAxes('mean', dim, x.ndim);
  const n = axes.reduce((a, i) => a * x.shape[i]!, 1);
  const src = isFloat(x.dtype) ? x : cast(x, 'float32');
  return div(sum(src, axes, opts), n);
}

export interface VarOptions extends ReduceOptions {
  /** Bessel's correction: divide by N - correction (PyTorch default 1). */
  correction?: number;
}
export function variance(x: Tensor, dim?: Dims, opts: VarOptions = {}): Tensor {
  const axes = normAxes('var', dim, x.ndim);
  const n = axes.reduce((a, i) => a * x.shape[i]!, 1);
  const centred = sub(x, mean(x, axes, { keepdim: true }));
  return div(sum(mul(centred, centred), axes, opts), Math.max(0, n - (opts.correction ?? 1)));
}
export const std = (x: Tensor, dim?: Dims, opts: VarOptions = {}) => sqrt(variance(x, dim, opts));

/** log(sum(exp(x))) over `dim`, shifted by the max so it never overflows. */
export function logsumexp(x: Tensor, dim: Dims, opts: ReduceOptions = {}): Tensor {
  const axes = normAxes('logsumexp', dim, x.ndim);
  // The shift is a constant for the gradient; guard infinite maxima so they stay exact.
  const m = noGrad(() => {
    const mx = max(x, axes, { keepdim: true });
    return where(eq(abs(mx), Infinity), 0, mx);
  });
  const out = add(log(sum(exp(sub(x, m)), axes, { keepdim: true })), m);
  return opts.keepdim ? out : reshape(out, out.shape.filter((_, i) => !axes.includes(i)));
}

export function softmax(x: Tensor, dim = -1): Tensor {
  const axis = normAxis('softmax', dim, x.ndim);
  const m = noGrad(() => max(x, axis, { keepdim: true }));
  const e = exp(sub(x, m));
  return div(e, sum(e, axis, { keepdim: true }));
}
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  const axis = normAxis('logSoftmax', dim, x.ndim);
  return sub(x, logsumexp(x, axis, { keepdim: true }));
}

// ---- activations ---------------------------------------------------------------------------

export const leakyRelu = (x: Tensor, negativeSlope = 0.01) => where(gt(x, 0), x, mul(x, negativeSlope));
export const silu = (x: Tensor) => mul(x, sigmoid(x));
/** GELU; `approximate: 'tanh'` is the tanh form used by GPT-2 and friends. */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  if (approximate === 'tanh') {
    const inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
    return mul(mul(x, 0.5), add(tanh(inner), 1));
  }
  return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
}
/** log(1 + exp(beta x)) / beta, linear above `threshold` as in PyTorch. */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  const bx = mul(x, beta);
  const soft = div(add(relu(bx), log1p(exp(neg(abs(bx))))), beta);
  return where(gt(bx, threshold), x, soft);
}
/**
 * Limits x to [min, max] (max wins when min > max). Selects rather than takes maximum/minimum so a
 * value on a bound keeps its whole gradient, as in PyTorch; NaN passes through.
 */
export function clamp(x: Tensor, min?: number | Tensor, max?: number | Tensor): Tensor {
  if (min === undefined && max === undefined) throw new OpError('clamp', 'at least one of min and max must be given');
  let out = x;
  if (min !== undefined) out = where(lt(out, min), min, out);
  if (max !== undefined) out = where(gt(out, max), max, out);
  return out;
}
export const square = (x: Tensor) => mul(x, x);

// ---- shape ---------------------------------------------------------------------------------

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normAxis('flatten', startDim, x.ndim, 'startDim');
  const e = normAxis('flatten', endDim, x.ndim, 'endDim');
  if (s > e) throw new OpError('flatten', `startDim ${startDim} comes after endDim ${endDim}`);
  const merged = x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
  return reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}
export function squeeze(x: Tensor, dim?: number | number[]): Tensor {
  const axes = dim === undefined ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normAxes('squeeze', dim, x.ndim).filter((a) => x.shape[a] === 1);
  return reshape(x, x.shape.filter((_, i) => !axes.includes(i)));
}
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const axis = normAxis('unsqueeze', dim, x.ndim + 1);
  const shape = [...x.shape];
  shape.splice(axis, 0, 1);
  return reshape(x, shape);
}
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  const a = normAxis('transpose', dim0, x.ndim, 'dim0');
  const b = normAxis('transpose', dim1, x.ndim, 'dim1');
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}
export function stack(xs: readonly Tensor[], dim = 0): Tensor {
  if (xs.length === 0) throw new OpError('stack', 'expected a non-empty list of tensors');
  const first = xs[0]!.shape;
  xs.forEach((t, i) => {
    if (t.shape.join() !== first.join()) throw new OpError('stack', `tensor ${i} has shape ${fmtShape(t.shape)}, expected ${fmtShape(first)}`);
  });
  const axis = normAxis('stack', dim, first.length + 1);
  return cat(xs.map((t) => unsqueeze(t, axis)), axis);
}
/** Splits into pieces of `sizeOrSections` (a size, or a list of sizes summing to the dim). */
export function split(x: Tensor, sizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  const axis = normAxis('split', dim, x.ndim);
  const n = x.shape[axis]!;
  let sizes: number[];
  if (typeof sizeOrSections === 'number') {
    if (!Number.isInteger(sizeOrSections) || sizeOrSections <= 0) throw new OpError('split', `split size must be a positive integer, got ${sizeOrSections}`);
    sizes = [];
    for (let s = 0; s < n; s += sizeOrSections) sizes.push(Math.min(sizeOrSections, n - s));
  } else {
    sizes = [...sizeOrSections];
    if (sizes.reduce((a, b) => a + b, 0) !== n) throw new OpError('split', `sections ${JSON.stringify(sizes)} do not sum to dim ${axis} of size ${n}`);
  }
  let start = 0;
  return sizes.map((s) => slice(x, axis, start, (start += s)));
}
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  const axis = normAxis('chunk', dim, x.ndim);
  if (!Number.isInteger(chunks) || chunks <= 0) throw new OpError('chunk', `chunks must be a positive integer, got ${chunks}`);
  return split(x, Math.ceil(x.shape[axis]! / chunks), axis);
}
/** `Tensor.repeat`: tiles the tensor `repeats[i]` times along dim i. */
export function repeat(x: Tensor, repeats: readonly number[]): Tensor {
  if (repeats.length < x.ndim) throw new OpError('repeat', `need at least ${x.ndim} repeat counts, got ${repeats.length}`);
  const shape = [...new Array<number>(repeats.length - x.ndim).fill(1), ...x.shape];
  const inter: number[] = [];
  const expanded: number[] = [];
  shape.forEach((d, i) => {
    inter.push(1, d);
    expanded.push(repeats[i]!, d);
  });
  return reshape(expand(reshape(x, inter), expanded), shape.map((d, i) => d * repeats[i]!));
}
export function view(x: Tensor, shape: Shape): Tensor {
  return reshape(x, shape);
}
