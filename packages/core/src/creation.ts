import type { Backend } from './backend.js';
import { allocArray, assertDType, type DType, dtypeOfArray, isFloat, type TypedArray } from './dtype.js';
import { defaultGenerator, type Generator } from './random.js';
import { getBackend } from './registry.js';
import { assertShape, fmtShape, OpError, type Shape, shapeSize } from './shape.js';
import { fromData, type Tensor } from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  /** A backend or its registered name; the current default when omitted. */
  backend?: Backend | string;
}
export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

export type NestedArray = number | boolean | readonly NestedArray[];

function resolveBackend(b: Backend | string | undefined): Backend {
  return typeof b === 'object' ? b : getBackend(b);
}

function finish(data: TypedArray, shape: Shape, dtype: DType, opts: CreateOptions): Tensor {
  const t = fromData(data, [...shape], dtype, resolveBackend(opts.backend));
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

function inferShape(data: NestedArray, op: string): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = (cur as NestedArray[])[0] ?? 0;
  }
  return Array.isArray(data) && shape.length === 0 ? [0] : shape.length === 0 && op ? [] : shape;
}

/**
 * A tensor from a number, nested arrays or a typed array (then `shape` is required unless 1-D).
 * Nested arrays must be rectangular; dtype defaults to float32 (bool for booleans, the array's own
 * type for typed arrays).
 */
export function tensor(data: NestedArray | TypedArray, opts: CreateOptions & { shape?: Shape } = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const src = data as TypedArray;
    const shape = opts.shape ? assertShape('tensor', 'shape', [...opts.shape]) : [src.length];
    if (shapeSize(shape) !== src.length) throw new OpError('tensor', `shape ${fmtShape(shape)} needs ${shapeSize(shape)} values, data has ${src.length}`);
    const dtype = opts.dtype ?? dtypeOfArray(src);
    const out = allocArray(dtype, src.length);
    out.set(src);
    return finish(out, shape, dtype, opts);
  }
  const shape = inferShape(data, 'tensor');
  const flat: (number | boolean)[] = [];
  const walk = (v: NestedArray, dim: number, path: string) => {
    if (dim === shape.length) {
      if (typeof v !== 'number' && typeof v !== 'boolean') throw new OpError('tensor', `expected a number at ${path || 'top level'}, got ${Array.isArray(v) ? 'an array' : typeof v}`);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) {
      throw new OpError('tensor', `ragged nested array: ${path || 'top level'} has ${Array.isArray(v) ? `length ${v.length}` : 'a scalar'}, expected length ${shape[dim]}`);
    }
    v.forEach((e: NestedArray, i: number) => walk(e, dim + 1, `${path}[${i}]`));
  };
  walk(data, 0, '');
  const dtype = opts.dtype ?? (typeof flat[0] === 'boolean' ? 'bool' : 'float32');
  assertDType(dtype, 'tensor: dtype');
  if (opts.shape && shapeSize(opts.shape) !== flat.length) throw new OpError('tensor', `shape ${fmtShape(opts.shape)} does not match ${flat.length} values`);
  const out = allocArray(dtype, flat.length);
  for (let i = 0; i < flat.length; i++) out[i] = Number(flat[i]);
  return finish(out, opts.shape ?? shape, dtype, opts);
}

export function full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
  const s = assertShape('full', 'size', [...shape]);
  const dtype = opts.dtype ?? 'float32';
  const data = allocArray(dtype, shapeSize(s));
  if (value !== 0) data.fill(value);
  return finish(data, s, dtype, opts);
}
export const zeros = (shape: Shape, opts: CreateOptions = {}) => full(shape, 0, opts);
export const ones = (shape: Shape, opts: CreateOptions = {}) => full(shape, 1, opts);

function like(t: Tensor, opts: CreateOptions): CreateOptions {
  return { dtype: t.dtype, backend: t.backend, ...opts };
}
export const zerosLike = (t: Tensor, opts: CreateOptions = {}) => full(t.shape, 0, like(t, opts));
export const onesLike = (t: Tensor, opts: CreateOptions = {}) => full(t.shape, 1, like(t, opts));
export const fullLike = (t: Tensor, value: number, opts: CreateOptions = {}) => full(t.shape, value, like(t, opts));

/** Values start, start+step, ... below end (`arange(n)` is 0..n-1). */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0 || !Number.isFinite(step)) throw new OpError('arange', `step must be a non-zero finite number, got ${step}`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = opts.dtype ?? 'float32';
  const data = allocArray(dtype, n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return finish(data, [n], dtype, opts);
}

export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new OpError('linspace', `steps must be a non-negative integer, got ${steps}`);
  const dtype = opts.dtype ?? 'float32';
  const data = allocArray(dtype, steps);
  const d = steps > 1 ? (end - start) / (steps - 1) : 0;
  // PyTorch fills the second half from the end so both endpoints are exact.
  for (let i = 0; i < steps; i++) data[i] = i < steps / 2 ? start + i * d : end - (steps - 1 - i) * d;
  return finish(data, [steps], dtype, opts);
}

export function eye(n: number, m = n, opts: CreateOptions = {}): Tensor {
  const dtype = opts.dtype ?? 'float32';
  const data = allocArray(dtype, n * m);
  for (let i = 0; i < Math.min(n, m); i++) data[i * m + i] = 1;
  return finish(data, [n, m], dtype, opts);
}

function randomFill(op: string, shape: Shape, opts: RandomOptions, draw: (g: Generator) => number): Tensor {
  const s = assertShape(op, 'size', [...shape]);
  const dtype = opts.dtype ?? 'float32';
  if (!isFloat(dtype)) throw new OpError(op, `dtype must be floating point, got ${dtype}`);
  const g = opts.generator ?? defaultGenerator;
  const data = allocArray(dtype, shapeSize(s));
  for (let i = 0; i < data.length; i++) data[i] = draw(g);
  return finish(data, s, dtype, opts);
}

/** Uniform samples in [0, 1). */
export const rand = (shape: Shape, opts: RandomOptions = {}) => randomFill('rand', shape, opts, (g) => g.random());
/** Standard normal samples. */
export const randn = (shape: Shape, opts: RandomOptions = {}) => randomFill('randn', shape, opts, (g) => g.normal());
export const randLike = (t: Tensor, opts: RandomOptions = {}) => rand(t.shape, { ...like(t, opts), ...opts });
export const randnLike = (t: Tensor, opts: RandomOptions = {}) => randn(t.shape, { ...like(t, opts), ...opts });
/** Uniform in [low, high). */
export const uniform = (shape: Shape, low: number, high: number, opts: RandomOptions = {}) => randomFill('uniform', shape, opts, (g) => low + (high - low) * g.random());
/** Normal with mean and std. */
export const normal = (shape: Shape, mean: number, std: number, opts: RandomOptions = {}) => randomFill('normal', shape, opts, (g) => mean + std * g.normal());

/** Integers uniform in [low, high), int32 by default. */
export function randint(low: number, high: number, shape: Shape, opts: RandomOptions = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) throw new OpError('randint', `need integers low < high, got low=${low}, high=${high}`);
  const s = assertShape('randint', 'size', [...shape]);
  const dtype = opts.dtype ?? 'int32';
  const g = opts.generator ?? defaultGenerator;
  const data = allocArray(dtype, shapeSize(s));
  for (let i = 0; i < data.length; i++) data[i] = g.integer(low, high);
  return finish(data, s, dtype, opts);
}

/** A random permutation of 0..n-1 (int32). */
export function randperm(n: number, opts: RandomOptions = {}): Tensor {
  const g = opts.generator ?? defaultGenerator;
  return finish(g.permutation(n), [n], 'int32', opts);
}

/** 1 with probability p, else 0, in `dtype` (float32 default). */
export function bernoulli(shape: Shape, p: number, opts: RandomOptions = {}): Tensor {
  if (!(p >= 0 && p <= 1)) throw new OpError('bernoulli', `p must be in [0, 1], got ${p}`);
  return randomFill('bernoulli', shape, opts, (g) => (g.random() < p ? 1 : 0));
}
