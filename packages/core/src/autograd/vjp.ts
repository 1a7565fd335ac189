/**
 * Vector-Jacobian products of the primitives, written in ops so they run on every backend and can
 * themselves be differentiated (createGraph). The table's type lists every primitive: leaving a rule
 * out is a compile error.
 */
import { allocArray } from '../dtype.js';
import type { BinaryOp, CompareOp, Conv2dAttrs, Conv2dGeometry, PrimAttrs, PrimName, UnaryOp } from '../prims.js';
import { type Shape, shapeSize } from '../shape.js';
import { fromData, runPrim, type Tensor } from '../tensor.js';
import * as o from '../ops/basic.js';
import { conv2dBackwardFilter, conv2dBackwardInput, conv2dFused, reluBackward } from '../ops/fused.js';

export interface VjpContext<K extends PrimName> {
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly attrs: PrimAttrs[K];
  /** Which inputs need a gradient; rules may skip the others (return null). */
  readonly needs: readonly boolean[];
}
export type VjpRule<K extends PrimName> = (grad: Tensor, ctx: VjpContext<K>) => (Tensor | null)[];

/** Sums a broadcast gradient back to `shape` (the one helper every broadcasting rule uses). */
export function unbroadcast(g: Tensor, shape: Shape): Tensor {
  if (g.shape.join() === shape.join()) return g;
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  return o.reshape(axes.length ? runPrim('sum', [g], { axes }) : g, shape);
}

function zerosFor(t: Tensor, shape: Shape = t.shape): Tensor {
  return fromData(allocArray(t.dtype, shapeSize(shape)), shape, t.dtype, t.backend);
}

type UnaryRule = (g: Tensor, x: Tensor, y: Tensor) => Tensor;
const unaryRules: { [K in UnaryOp]: UnaryRule } = {
  neg: (g) => o.neg(g),
  abs: (g, x) => o.mul(g, o.sign(x)),
  exp: (g, _x, y) => o.mul(g, y),
  log: (g, x) => o.div(g, x),
  log1p: (g, x) => o.div(g, o.add(x, 1)),
  sqrt: (g, _x, y) => o.div(g, o.mul(y, 2)),
  rsqrt: (g, _x, y) => o.mul(g, o.mul(o.mul(o.mul(y, y), y), -0.5)),
  sin: (g, x) => o.mul(g, o.cos(x)),
  cos: (g, x) => o.neg(o.mul(g, o.sin(x))),
  tanh: (g, _x, y) => o.mul(g, o.sub(1, o.mul(y, y))),
  sigmoid: (g, _x, y) => o.mul(g, o.mul(y, o.sub(1, y))),
  relu: (g, x) => reluBackward(g, x),
  sign: (g) => o.mul(g, 0),
  floor: (g) => o.mul(g, 0),
  erf: (g, x) => o.mul(g, o.mul(o.exp(o.neg(o.mul(x, x))), 2 / Math.sqrt(Math.PI))),
};

type BinaryRule = (g: Tensor, a: Tensor, b: Tensor, y: Tensor, needs: readonly boolean[]) => [Tensor | null, Tensor | null];
const half = (g: Tensor, win: Tensor, tie: Tensor) => o.mul(g, o.add(o.cast(win, g.dtype), o.mul(o.cast(tie, g.dtype), 0.5)));
const binaryRules: { [K in BinaryOp]: BinaryRule } = {
  add: (g) => [g, g],
  sub: (g, _a, _b, _y, needs) => [g, needs[1] ? o.neg(g) : null],
  mul: (g, a, b, _y, needs) => [needs[0] ? o.mul(g, b) : null, needs[1] ? o.mul(g, a) : null],
  div: (g, _a, b, y, needs) => [o.div(g, b), needs[1] ? o.neg(o.mul(g, o.div(y, b))) : null],
  pow: (g, a, b, y, needs) => [
    // b * a^(b-1) is 0 * inf at a = 0, b = 0; the derivative of a^0 is 0 (PyTorch masks it the same way).
    needs[0] ? o.where(o.eq(b, 0), 0, o.mul(g, o.mul(b, o.pow(a, o.sub(b, 1))))) : null,
    // 0^b has no log; PyTorch defines that gradient as 0.
    needs[1] ? o.where(o.eq(a, 0), 0, o.mul(g, o.mul(y, o.log(a)))) : null,
  ],
  // Ties split the gradient evenly, as in PyTorch.
  maximum: (g, a, b) => [half(g, o.gt(a, b), o.eq(a, b)), half(g, o.lt(a, b), o.eq(a, b))],
  minimum: (g, a, b) => [half(g, o.lt(a, b), o.eq(a, b)), half(g, o.gt(a, b), o.eq(a, b))],
};

const notDifferentiable = () => [];

function reduceExtremum(g: Tensor, ctx: VjpContext<'max' | 'min'>): Tensor[] {
  const x = ctx.inputs[0]!;
  const mask = o.cast(o.eq(x, ctx.output), x.dtype);
  const count = runPrim('sum', [mask], { axes: ctx.attrs.axes });
  return [o.mul(mask, o.div(g, count))];
}

function matmulRule(g: Tensor, { inputs: [a, b], attrs: { transA, transB }, needs }: VjpContext<'matmul'>): (Tensor | null)[] {
  const mm = (x: Tensor, y: Tensor, tx: boolean, ty: boolean) => runPrim('matmul', [x, y], { transA: tx, transB: ty });
  // A batch of 1 was broadcast in the forward pass: its gradient sums over the batch.
  const fit = (t: Tensor, like: Tensor) => (like.shape[0] === 1 && t.shape[0] !== 1 ? runPrim('sum', [t], { axes: [0] }) : t);
  // ... and that sum is one product with the batch folded into the contraction (a conv weight's
  // gradient over N*L columns), instead of B small products then a sum: one large GEMM is what
  // fast backends are fast at.
  const batch = g.shape[0]!;
  const [, m, n] = g.shape as [number, number, number];
  const flat = (t: Tensor, rows: number, cols: number) => runPrim('reshape', [t], { shape: [1, rows, cols] });
  const swap = (t: Tensor) => runPrim('permute', [t], { perm: [0, 2, 1] });
  let ga: Tensor | null = null;
  let gb: Tensor | null = null;
  if (needs[0] && a!.shape[0] === 1 && batch > 1) {
    const k = transA ? a!.shape[1]! : a!.shape[2]!;
    const gWide = flat(runPrim('permute', [g], { perm: [1, 0, 2] }), m, batch * n); // [M, B*N]
    const bTall = flat(transB ? b! : swap(b!), batch * n, k); // op(b)_i^T stacked: [B*N, K]
    ga = transA ? mm(bTall, gWide, true, true) : mm(gWide, bTall, false, false);
  } else if (needs[0]) ga = fit(transA ? (transB ? mm(b!, g, true, true) : mm(b!, g, false, true)) : mm(g, b!, false, !transB), a!);
  if (needs[1] && b!.shape[0] === 1 && batch > 1) {
    const k = transB ? b!.shape[2]! : b!.shape[1]!;
    const aTall = flat(transA ? swap(a!) : a!, batch * m, k); // op(a)_i stacked: [B*M, K]
    const gTall = flat(g, batch * m, n);
    gb = transB ? mm(gTall, aTall, true, false) : mm(aTall, gTall, true, false);
  } else if (needs[1]) gb = fit(transB ? (transA ? mm(g, a!, true, true) : mm(g, a!, true, false)) : mm(a!, g, !transA, false), b!);
  return [ga, gb];
}

function sliceAttrs(attrs: { begin: number[]; end: number[]; step: number[] }) {
  return { begin: attrs.begin, end: attrs.end, step: attrs.step };
}
function geometry(g: Conv2dGeometry): Conv2dGeometry {
  return { kernel: g.kernel, stride: g.stride, padding: g.padding, dilation: g.dilation };
}

function convAttrs(a: Conv2dAttrs): Conv2dAttrs {
  return { stride: a.stride, padding: a.padding, dilation: a.dilation, groups: a.groups };
}
const spatial = (t: Tensor): [number, number] => [t.shape[2]!, t.shape[3]!];

/*
 * The fused primitives, through ops/fused.ts (the fused kernel when the backend has it, else the
 * decomposition). The convolutions are linear in each operand, so each one's gradient is one of
 * the other two.
 */
const fusedRules = {
  conv2d: (g, { inputs: [x, w], attrs, needs }) => [
    needs[0] ? conv2dBackwardInput(g, w!, convAttrs(attrs), spatial(x!)) : null,
    needs[1] ? conv2dBackwardFilter(x!, g, convAttrs(attrs), spatial(w!)) : null,
  ],
  // gx = A_w^T gy: wrt gy it is A_w gg = conv2d(gg, w); wrt w, <gg, A_w^T gy> = <conv2d(gg, w), gy>.
  conv2dBackwardInput: (gg, { inputs: [gy, w], attrs, needs }) => [
    needs[0] ? conv2dFused(gg, w!, convAttrs(attrs)) : null,
    needs[1] ? conv2dBackwardFilter(gg, gy!, convAttrs(attrs), spatial(w!)) : null,
  ],
  // <ggw, F(x, gy)> = <conv2d(x, ggw), gy>: wrt x it is conv2dBackwardInput(gy, ggw), wrt gy conv2d(x, ggw).
  conv2dBackwardFilter: (ggw, { inputs: [x, gy], attrs, needs }) => [
    needs[0] ? conv2dBackwardInput(gy!, ggw, convAttrs(attrs), spatial(x!)) : null,
    needs[1] ? conv2dFused(x!, ggw, convAttrs(attrs)) : null,
  ],
  // linear in grad with the mask of x; piecewise constant in x, so x gets no gradient (as through `gt`)
  reluBackward: (gg, { inputs: [, x], needs }) => [needs[0] ? reluBackward(gg, x!) : null, null],
} satisfies { [K in 'conv2d' | 'conv2dBackwardInput' | 'conv2dBackwardFilter' | 'reluBackward']: VjpRule<K> };

export const VJP: { [K in PrimName]: VjpRule<K> } = {
  ...(Object.fromEntries(
    (Object.keys(unaryRules) as UnaryOp[]).map((op) => [op, (g: Tensor, c: VjpContext<UnaryOp>) => [unaryRules[op](g, c.inputs[0]!, c.output)]]),
  ) as { [K in UnaryOp]: VjpRule<K> }),
  ...(Object.fromEntries(
    (Object.keys(binaryRules) as BinaryOp[]).map((op) => [
      op,
      (g: Tensor, c: VjpContext<BinaryOp>) => {
        const [a, b] = c.inputs as [Tensor, Tensor];
        const [ga, gb] = binaryRules[op](g, a, b, c.output, c.needs);
        return [ga && c.needs[0] ? unbroadcast(ga, a.shape) : null, gb && c.needs[1] ? unbroadcast(gb, b.shape) : null];
      },
    ]),
  ) as { [K in BinaryOp]: VjpRule<K> }),
  ...(Object.fromEntries((['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as CompareOp[]).map((op) => [op, notDifferentiable])) as unknown as { [K in CompareOp]: VjpRule<K> }),
  argmax: notDifferentiable,
  argmin: notDifferentiable,
  where: (g, { inputs: [c, a, b], needs }) => [
    null,
    needs[1] ? unbroadcast(o.where(c!, g, 0), a!.shape) : null,
    needs[2] ? unbroadcast(o.where(c!, 0, g), b!.shape) : null,
  ],
  cast: (g, { inputs: [x] }) => [o.cast(g, x!.dtype)],
  sum: (g, { inputs: [x] }) => [o.expand(g, x!.shape)],
  max: reduceExtremum,
  min: reduceExtremum,
  reshape: (g, { inputs: [x] }) => [o.reshape(g, x!.shape)],
  permute: (g, { attrs: { perm } }) => {
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [o.permute(g, inv)];
  },
  expand: (g, { inputs: [x] }) => [unbroadcast(g, x!.shape)],
  slice: (g, { inputs: [x], attrs }) => [runPrim('unslice', [g], { shape: [...x!.shape], ...sliceAttrs(attrs) })],
  unslice: (g, { attrs }) => [runPrim('slice', [g], sliceAttrs(attrs))],
  pad: (g, { inputs: [x], attrs: { before } }) => [
    runPrim('slice', [g], { begin: before, end: before.map((b, i) => b + x!.shape[i]!), step: before.map(() => 1) }),
  ],
  cat: (g, { inputs, attrs: { axis }, needs }) => {
    let start = 0;
    return inputs.map((t, i) => {
      const begin = start;
      start += t.shape[axis]!;
      return needs[i] ? o.slice(g, axis, begin, start) : null;
    });
  },
  matmul: matmulRule,
  unfold: (g, { inputs: [x], attrs }) => [runPrim('fold', [g], { ...geometry(attrs), outputSize: [x!.shape[2]!, x!.shape[3]!] })],
  fold: (g, { attrs }) => [runPrim('unfold', [g], geometry(attrs))],
  gather: (g, { inputs: [x, index], attrs: { axis } }) => [runPrim('scatterAdd', [zerosFor(g, x!.shape), index!, g], { axis }), null],
  scatterAdd: (g, { inputs: [, index], attrs: { axis }, needs }) => [g, null, needs[2] ? runPrim('gather', [g, index!], { axis }) : null],
  indexSelect: (g, { inputs: [x, index], attrs: { axis } }) => [runPrim('indexAdd', [zerosFor(g, x!.shape), index!, g], { axis }), null],
  indexAdd: (g, { inputs: [, index], attrs: { axis }, needs }) => [g, null, needs[2] ? runPrim('indexSelect', [g, index!], { axis }) : null],
  ...fusedRules,
};
