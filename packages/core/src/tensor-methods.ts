/**
 * PyTorch-style methods on Tensor (`x.add(y).relu().sum()`), attached to the prototype here so
 * tensor.ts needs no import of the op modules.
 */
import type { Backend } from './backend.js';
import { DTYPES, type DType } from './dtype.js';
import { Tensor, toBackend } from './tensor.js';
import * as b from './ops/basic.js';
import * as c from './ops/composite.js';
import { backward, type BackwardOptions } from './autograd/backward.js';
import type { Shape } from './shape.js';

type S = b.TensorOrScalar;

declare module './tensor.js' {
  interface Tensor {
    add(other: S): Tensor;
    sub(other: S): Tensor;
    mul(other: S): Tensor;
    div(other: S): Tensor;
    pow(other: S): Tensor;
    maximum(other: S): Tensor;
    minimum(other: S): Tensor;
    eq(other: S): Tensor;
    ne(other: S): Tensor;
    lt(other: S): Tensor;
    le(other: S): Tensor;
    gt(other: S): Tensor;
    ge(other: S): Tensor;
    neg(): Tensor;
    abs(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    square(): Tensor;
    clamp(min?: number, max?: number): Tensor;
    sum(dim?: b.Dims, opts?: b.ReduceOptions): Tensor;
    mean(dim?: b.Dims, opts?: b.ReduceOptions): Tensor;
    max(dim?: b.Dims, opts?: b.ReduceOptions): Tensor;
    min(dim?: b.Dims, opts?: b.ReduceOptions): Tensor;
    argmax(dim?: number, opts?: b.ReduceOptions): Tensor;
    var(dim?: b.Dims, opts?: c.VarOptions): Tensor;
    std(dim?: b.Dims, opts?: c.VarOptions): Tensor;
    softmax(dim?: number): Tensor;
    logSoftmax(dim?: number): Tensor;
    matmul(other: Tensor): Tensor;
    reshape(...shape: number[] | [Shape]): Tensor;
    view(...shape: number[] | [Shape]): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    squeeze(dim?: number): Tensor;
    unsqueeze(dim: number): Tensor;
    permute(...dims: number[]): Tensor;
    transpose(dim0?: number, dim1?: number): Tensor;
    /** 2-D transpose. */
    readonly T: Tensor;
    expand(...shape: number[] | [Shape]): Tensor;
    repeat(...repeats: number[]): Tensor;
    slice(dim: number, start?: number, end?: number, step?: number): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    /**
     * `to(dtype)` casts (recorded by autograd); `to(backend)` (a Backend or a registered backend
     * name, never a dtype name) copies the values to that backend, keeping the dtype.
     */
    to(target: DType | Backend | string): Tensor;
    float(): Tensor;
    double(): Tensor;
    int(): Tensor;
    clone(): Tensor;
    backward(gradient?: Tensor | null, opts?: BackwardOptions): void;
  }
}

const shapeArgs = (args: number[] | [Shape]): Shape => (Array.isArray(args[0]) ? (args[0] as Shape) : (args as number[]));

const methods: Partial<Record<keyof Tensor, unknown>> = {
  add(this: Tensor, o: S) { return b.add(this, o); },
  sub(this: Tensor, o: S) { return b.sub(this, o); },
  mul(this: Tensor, o: S) { return b.mul(this, o); },
  div(this: Tensor, o: S) { return b.div(this, o); },
  pow(this: Tensor, o: S) { return b.pow(this, o); },
  maximum(this: Tensor, o: S) { return b.maximum(this, o); },
  minimum(this: Tensor, o: S) { return b.minimum(this, o); },
  eq(this: Tensor, o: S) { return b.eq(this, o); },
  ne(this: Tensor, o: S) { return b.ne(this, o); },
  lt(this: Tensor, o: S) { return b.lt(this, o); },
  le(this: Tensor, o: S) { return b.le(this, o); },
  gt(this: Tensor, o: S) { return b.gt(this, o); },
  ge(this: Tensor, o: S) { return b.ge(this, o); },
  neg(this: Tensor) { return b.neg(this); },
  abs(this: Tensor) { return b.abs(this); },
  exp(this: Tensor) { return b.exp(this); },
  log(this: Tensor) { return b.log(this); },
  sqrt(this: Tensor) { return b.sqrt(this); },
  rsqrt(this: Tensor) { return b.rsqrt(this); },
  sin(this: Tensor) { return b.sin(this); },
  cos(this: Tensor) { return b.cos(this); },
  tanh(this: Tensor) { return b.tanh(this); },
  sigmoid(this: Tensor) { return b.sigmoid(this); },
  relu(this: Tensor) { return b.relu(this); },
  square(this: Tensor) { return c.square(this); },
  clamp(this: Tensor, lo?: number, hi?: number) { return c.clamp(this, lo, hi); },
  sum(this: Tensor, d?: b.Dims, o?: b.ReduceOptions) { return b.sum(this, d, o); },
  mean(this: Tensor, d?: b.Dims, o?: b.ReduceOptions) { return c.mean(this, d, o); },
  max(this: Tensor, d?: b.Dims, o?: b.ReduceOptions) { return b.max(this, d, o); },
  min(this: Tensor, d?: b.Dims, o?: b.ReduceOptions) { return b.min(this, d, o); },
  argmax(this: Tensor, d?: number, o?: b.ReduceOptions) { return b.argmax(this, d, o); },
  var(this: Tensor, d?: b.Dims, o?: c.VarOptions) { return c.variance(this, d, o); },
  std(this: Tensor, d?: b.Dims, o?: c.VarOptions) { return c.std(this, d, o); },
  softmax(this: Tensor, d = -1) { return c.softmax(this, d); },
  logSoftmax(this: Tensor, d = -1) { return c.logSoftmax(this, d); },
  matmul(this: Tensor, o: Tensor) { return b.matmul(this, o); },
  reshape(this: Tensor, ...s: number[] | [Shape]) { return b.reshape(this, shapeArgs(s)); },
  view(this: Tensor, ...s: number[] | [Shape]) { return b.reshape(this, shapeArgs(s)); },
  flatten(this: Tensor, s?: number, e?: number) { return c.flatten(this, s, e); },
  squeeze(this: Tensor, d?: number) { return c.squeeze(this, d); },
  unsqueeze(this: Tensor, d: number) { return c.unsqueeze(this, d); },
  permute(this: Tensor, ...d: number[]) { return b.permute(this, d); },
  transpose(this: Tensor, d0?: number, d1?: number) { return c.transpose(this, d0, d1); },
  expand(this: Tensor, ...s: number[] | [Shape]) { return b.expand(this, shapeArgs(s)); },
  repeat(this: Tensor, ...r: number[]) { return c.repeat(this, r); },
  slice(this: Tensor, d: number, s?: number, e?: number, st?: number) { return b.slice(this, d, s, e, st); },
  narrow(this: Tensor, d: number, s: number, l: number) { return b.narrow(this, d, s, l); },
  to(this: Tensor, target: DType | Backend | string) { return typeof target === 'string' && (DTYPES as readonly string[]).includes(target) ? b.cast(this, target as DType) : toBackend(this, target); },
  float(this: Tensor) { return b.cast(this, 'float32'); },
  double(this: Tensor) { return b.cast(this, 'float64'); },
  int(this: Tensor) { return b.cast(this, 'int32'); },
  clone(this: Tensor) { return b.mul(this, 1); },
  backward(this: Tensor, g?: Tensor | null, o?: BackwardOptions) { backward(this, g ?? null, o); },
};
for (const [name, fn] of Object.entries(methods)) {
  Object.defineProperty(Tensor.prototype, name, { value: fn, writable: true, configurable: true });
}
Object.defineProperty(Tensor.prototype, 'T', {
  get(this: Tensor) {
    return c.transpose(this, 0, 1);
  },
  configurable: true,
});
