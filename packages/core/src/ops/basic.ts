/**
 * PyTorch-named wrappers over the primitives: argument checking, scalar and dtype promotion,
 * broadcasting, dim handling. Every function here records through `runPrim`, so it is differentiable
 * wherever its primitive is.
 */
import type { Backend } from '../backend.js';
import { allocArray, type DType, isFloat, promoteTypes } from '../dtype.js';
import type { BinaryOp, CompareOp, UnaryOp } from '../prims.js';
import { fmtShape, normAxes, normAxis, OpError, type Shape, shapeSize } from '../shape.js';
import { fromData, runPrim, Tensor } from '../tensor.js';

export type TensorOrScalar = Tensor | number;

/** A 0-d tensor on `backend`. */
export function scalarOn(value: number, dtype: DType, backend: Backend): Tensor {
  const data = allocArray(dtype, 1);
  data[0] = value;
  return fromData(data, [], dtype, backend);
}

function asFloat(op: string, x: Tensor): Tensor {
  if (isFloat(x.dtype)) return x;
  if (x.dtype === 'bool' || x.dtype === 'int32') return cast(x, 'float32');
  throw new OpError(op, `unsupported dtype ${x.dtype}`);
}

export function unary(op: UnaryOp, x: Tensor): Tensor {
  const floatOnly = op !== 'neg' && op !== 'abs' && op !== 'sign' && op !== 'relu';
  return runPrim(op, [floatOnly ? asFloat(op, x) : x], {});
}

export const neg = (x: Tensor) => unary('neg', x);
export const abs = (x: Tensor) => unary('abs', x);
export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const log1p = (x: Tensor) => unary('log1p', x);
export const sqrt = (x: Tensor) => unary('sqrt', x);
export const rsqrt = (x: Tensor) => unary('rsqrt', x);
export const sin = (x: Tensor) => unary('sin', x);
export const cos = (x: Tensor) => unary('cos', x);
export const tanh = (x: Tensor) => unary('tanh', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
export const relu = (x: Tensor) => unary('relu', x);
export const sign = (x: Tensor) => unary('sign', x);
export const erf = (x: Tensor) => unary('erf', x);
export const floor = (x: Tensor) => unary('floor', x);

/** Brings two operands to one dtype on one backend (a JS number adopts the tensor's dtype, as in PyTorch). */
function operands(op: string, a: TensorOrScalar, b: TensorOrScalar): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') throw new OpError(op, 'at least one operand must be a tensor');
  if (typeof a === 'number' || typeof b === 'number') {
    const t = (typeof a === 'number' ? b : a) as Tensor;
    const s = (typeof a === 'number' ? a : b) as number;
    const needsFloat = !isFloat(t.dtype) && !Number.isInteger(s);
    const tt = needsFloat ? cast(t, 'float32') : t;
    const st = scalarOn(s, tt.dtype === 'bool' ? 'int32' : tt.dtype, tt.backend);
    const tt2 = tt.dtype === 'bool' ? cast(tt, 'int32') : tt;
    return typeof a === 'number' ? [st, tt2] : [tt2, st];
  }
  if (a.dtype === b.dtype) return [a, b];
  const dt = promoteTypes(a.dtype, b.dtype);
  return [a.dtype === dt ? a : cast(a, dt), b.dtype === dt ? b : cast(b, dt)];
}

export function binary(op: BinaryOp, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  let [x, y] = operands(op, a, b);
  if (x.dtype === 'bool') [x, y] = [cast(x, 'int32'), cast(y, 'int32')];
  if ((op === 'div' || op === 'pow') && !isFloat(x.dtype)) [x, y] = [cast(x, 'float32'), cast(y, 'float32')];
  return runPrim(op, [x, y], {});
}

export const add = (a: TensorOrScalar, b: TensorOrScalar) => binary('add', a, b);
export const sub = (a: TensorOrScalar, b: TensorOrScalar) => binary('sub', a, b);
export const mul = (a: TensorOrScalar, b: TensorOrScalar) => binary('mul', a, b);
export const div = (a: TensorOrScalar, b: TensorOrScalar) => binary('div', a, b);
export const pow = (a: TensorOrScalar, b: TensorOrScalar) => binary('pow', a, b);
export const maximum = (a: TensorOrScalar, b: TensorOrScalar) => binary('maximum', a, b);
export const minimum = (a: TensorOrScalar, b: TensorOrScalar) => binary('minimum', a, b);

export function compare(op: CompareOp, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  const [x, y] = operands(op, a, b);
  return runPrim(op, [x, y], {});
}
export const eq = (a: TensorOrScalar, b: TensorOrScalar) => compare('eq', a, b);
export const ne = (a: TensorOrScalar, b: TensorOrScalar) => compare('ne', a, b);
export const lt = (a: TensorOrScalar, b: TensorOrScalar) => compare('lt', a, b);
export const le = (a: TensorOrScalar, b: TensorOrScalar) => compare('le', a, b);
export const gt = (a: TensorOrScalar, b: TensorOrScalar) => compare('gt', a, b);
export const ge = (a: TensorOrScalar, b: TensorOrScalar) => compare('ge', a, b);

/** Elementwise `cond ? a : b` with broadcasting; `cond` must be bool. */
export function where(cond: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  const [x, y] = operands('where', a, b);
  return runPrim('where', [cond, x, y], {});
}

export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  return runPrim('cast', [x], { dtype });
}

// ---- reductions ----------------------------------------------------------------------------

export interface ReduceOptions {
  /** Keep reduced dims as size 1 (PyTorch `keepdim`). */
  keepdim?: boolean;
}
export type Dims = number | readonly number[];

function dropDims(x: Tensor, axes: number[], keepdim: boolean | undefined): Tensor {
  if (keepdim) return x;
  return reshape(x, x.shape.filter((_, i) => !axes.includes(i)));
}

export function sum(x: Tensor, dim?: Dims, opts: ReduceOptions = {}): Tensor {
  const axes = normAxes('sum', dim, x.ndim);
  const src = x.dtype === 'bool' ? cast(x, 'int32') : x;
  return dropDims(axes.length ? runPrim('sum', [src], { axes }) : src, axes, opts.keepdim);
}

/** Largest value over `dim` (all dims by default), like `torch.amax`; the gradient is split among ties. */
export function max(x: Tensor, dim?: Dims, opts: ReduceOptions = {}): Tensor {
  const axes = normAxes('max', dim, x.ndim);
  return dropDims(axes.length ? runPrim('max', [x], { axes }) : x, axes, opts.keepdim);
}

export function min(x: Tensor, dim?: Dims, opts: ReduceOptions = {}): Tensor {
  const axes = normAxes('min', dim, x.ndim);
  return dropDims(axes.length ? runPrim('min', [x], { axes }) : x, axes, opts.keepdim);
}

/** Index of the first maximum along `dim` (over the flattened tensor when omitted); int32. */
export function argmax(x: Tensor, dim?: number, opts: ReduceOptions = {}): Tensor {
  return argReduce('argmax', x, dim, opts);
}
export function argmin(x: Tensor, dim?: number, opts: ReduceOptions = {}): Tensor {
  return argReduce('argmin', x, dim, opts);
}
function argReduce(op: 'argmax' | 'argmin', x: Tensor, dim: number | undefined, opts: ReduceOptions): Tensor {
  if (x.size === 0) throw new OpError(op, 'cannot reduce an empty tensor');
  if (dim === undefined) return reshape(runPrim(op, [reshape(x, [x.size])], { axis: 0 }), opts.keepdim ? x.shape.map(() => 1) : []);
  const axis = normAxis(op, dim, x.ndim);
  const src = x.ndim === 0 ? reshape(x, [1]) : x;
  const r = runPrim(op, [src], { axis });
  return x.ndim === 0 ? reshape(r, []) : dropDims(r, [axis], opts.keepdim);
}

// ---- movement ------------------------------------------------------------------------------

/** Reshape; one dim may be -1 (inferred). Shares storage with the input. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const infer = shape.indexOf(-1);
  let target = [...shape];
  if (infer >= 0) {
    const known = shape.reduce((a, d, i) => (i === infer ? a : a * d), 1);
    if (shape.lastIndexOf(-1) !== infer || known === 0 || x.size % known !== 0) {
      throw new OpError('reshape', `cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
    }
    target[infer] = x.size / known;
  }
  if (target.some((d) => !Number.isInteger(d) || d < 0)) throw new OpError('reshape', `invalid shape ${fmtShape(shape)}`);
  if (target.join() === x.shape.join()) return x;
  return runPrim('reshape', [x], { shape: target });
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const perm = dims.map((d) => normAxis('permute', d, x.ndim));
  if (perm.every((p, i) => p === i)) return x;
  return runPrim('permute', [x], { perm });
}

/** Broadcasts to `shape` (-1 keeps a dim), materialising the copy. */
export function expand(x: Tensor, shape: Shape): Tensor {
  const off = shape.length - x.ndim;
  const target = shape.map((d, i) => (d === -1 ? x.shape[i - off] ?? -1 : d));
  if (target.join() === x.shape.join()) return x;
  return runPrim('expand', [x], { shape: target });
}

/** Sub-range along one dim, `start` inclusive, `end` exclusive, with optional `step` (negative bounds count from the end). */
export function slice(x: Tensor, dim: number, start = 0, end?: number, step = 1): Tensor {
  const axis = normAxis('slice', dim, x.ndim);
  const size = x.shape[axis]!;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
  const b = clamp(start);
  const e = Math.max(b, clamp(end ?? size));
  if (!Number.isInteger(step) || step <= 0) throw new OpError('slice', `step must be a positive integer, got ${step}`);
  if (b === 0 && e === size && step === 1) return x;
  const begin = x.shape.map(() => 0);
  const stop = [...x.shape];
  const steps = x.shape.map(() => 1);
  begin[axis] = b;
  stop[axis] = e;
  steps[axis] = step;
  return runPrim('slice', [x], { begin, end: stop, step: steps });
}

/** `torch.narrow`: `length` elements of `dim` from `start`. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const axis = normAxis('narrow', dim, x.ndim);
  if (start < 0 || length < 0 || start + length > x.shape[axis]!) {
    throw new OpError('narrow', `start ${start} + length ${length} exceeds dim ${axis} of size ${x.shape[axis]}`);
  }
  return slice(x, axis, start, start + length);
}

/**
 * Constant padding, PyTorch `F.pad` order: `[left, right, top, bottom, ...]` pads the last dim
 * first. Negative values are not supported (use slice).
 */
export function pad(x: Tensor, padding: readonly number[], value = 0): Tensor {
  if (padding.length % 2 !== 0 || padding.length / 2 > x.ndim) {
    throw new OpError('pad', `padding must have an even length of at most ${2 * x.ndim}, got ${padding.length}`);
  }
  if (padding.some((p) => !Number.isInteger(p) || p < 0)) throw new OpError('pad', `padding must be non-negative integers, got ${JSON.stringify(padding)}`);
  const before = x.shape.map(() => 0);
  const after = x.shape.map(() => 0);
  for (let i = 0; i < padding.length / 2; i++) {
    before[x.ndim - 1 - i] = padding[2 * i]!;
    after[x.ndim - 1 - i] = padding[2 * i + 1]!;
  }
  if (padding.every((p) => p === 0)) return x;
  return runPrim('pad', [x], { before, after, value });
}

export function cat(xs: readonly Tensor[], dim = 0): Tensor {
  if (xs.length === 0) throw new OpError('cat', 'expected a non-empty list of tensors');
  const axis = normAxis('cat', dim, xs[0]!.ndim);
  const dt = xs.reduce((d, t) => promoteTypes(d, t.dtype), xs[0]!.dtype);
  const parts = xs.map((t) => cast(t, dt));
  if (parts.length === 1) return parts[0]!;
  return runPrim('cat', parts, { axis });
}

// ---- indexing ------------------------------------------------------------------------------

function intIndex(op: string, index: Tensor): Tensor {
  if (index.dtype !== 'int32') throw new OpError(op, `index must be an int32 tensor, got ${index.dtype}`);
  return index;
}

/** `torch.gather`: picks `x` values along `dim` at `index` positions. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  return runPrim('gather', [x, intIndex('gather', index)], { axis: normAxis('gather', dim, x.ndim) });
}

/** `torch.scatter_add`: `x` plus `src` summed into the positions `index` names along `dim`. */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  return runPrim('scatterAdd', [x, intIndex('scatterAdd', index), src], { axis: normAxis('scatterAdd', dim, x.ndim) });
}

/** `torch.index_select` with a 1-D int32 index. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  return runPrim('indexSelect', [x, intIndex('indexSelect', index)], { axis: normAxis('indexSelect', dim, x.ndim) });
}

/** `torch.index_add`: `x` with slabs of `src` added at `index` along `dim`. */
export function indexAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  return runPrim('indexAdd', [x, intIndex('indexAdd', index), src], { axis: normAxis('indexAdd', dim, x.ndim) });
}

/** Matrix product with PyTorch `matmul` semantics (1-D promotion, batch broadcasting). */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) throw new OpError('matmul', `both arguments need at least 1 dim, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const [x, y] = operands('matmul', a, b);
  const a2 = x.ndim === 1 ? reshape(x, [1, x.shape[0]!]) : x;
  const b2 = y.ndim === 1 ? reshape(y, [y.shape[0]!, 1]) : y;
  const [m, k] = a2.shape.slice(-2) as [number, number];
  const [k2, n] = b2.shape.slice(-2) as [number, number];
  if (k !== k2) throw new OpError('matmul', `shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} cannot be multiplied (${k} vs ${k2})`);
  const batchA = a2.shape.slice(0, -2);
  const batchB = b2.shape.slice(0, -2);
  const nb = Math.max(batchA.length, batchB.length);
  const batch: number[] = [];
  for (let i = 0; i < nb; i++) {
    const da = batchA[batchA.length - nb + i] ?? 1;
    const db = batchB[batchB.length - nb + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new OpError('matmul', `batch dims of ${fmtShape(a.shape)} and ${fmtShape(b.shape)} cannot be broadcast`);
    batch.push(Math.max(da, db));
  }
  const B = shapeSize(batch);
  // A side with no real batch stays [1, m, k] and broadcasts inside the kernel without a copy.
  const flat = (t: Tensor, own: number[], r: number, c: number) =>
    shapeSize(own) === 1 ? reshape(t, [1, r, c]) : reshape(expand(t, [...batch, r, c]), [B, r, c]);
  let out = runPrim('matmul', [flat(a2, batchA, m, k), flat(b2, batchB, k, n)], { transA: false, transB: false });
  const outShape = [...batch, m, n];
  if (a.ndim === 1) outShape.splice(outShape.length - 2, 1);
  if (b.ndim === 1) outShape.splice(outShape.length - 1, 1);
  out = reshape(out, outShape);
  return out;
}

export { Tensor };
