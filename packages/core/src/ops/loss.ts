/** Loss functions with PyTorch's definitions, reductions and edge cases (ignore index, weights, smoothing). */
import { fmtShape, OpError } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { abs, add, cast, div, eq, exp, gather, log, log1p, mul, ne, neg, relu, reshape, sub, sum, where, indexSelect, lt, permute } from './basic.js';
import { logSoftmax, mean, unsqueeze, flatten } from './composite.js';

export type Reduction = 'mean' | 'sum' | 'none';

function reduce(op: string, loss: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'none') return loss;
  if (reduction === 'sum') return sum(loss);
  if (reduction === 'mean') return mean(loss);
  throw new OpError(op, `reduction must be 'mean', 'sum' or 'none', got '${String(reduction)}'`);
}

function sameShape(op: string, input: Tensor, target: Tensor): void {
  if (input.shape.join() !== target.shape.join()) {
    throw new OpError(op, `target shape ${fmtShape(target.shape)} must equal input shape ${fmtShape(input.shape)}`);
  }
}

export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  sameShape('mseLoss', input, target);
  const d = sub(input, target);
  return reduce('mseLoss', mul(d, d), reduction);
}

export function l1Loss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  sameShape('l1Loss', input, target);
  return reduce('l1Loss', abs(sub(input, target)), reduction);
}

/** Quadratic below `beta`, linear above (PyTorch `smooth_l1_loss`). */
export function smoothL1Loss(input: Tensor, target: Tensor, reduction: Reduction = 'mean', beta = 1): Tensor {
  sameShape('smoothL1Loss', input, target);
  const d = abs(sub(input, target));
  if (beta === 0) return reduce('smoothL1Loss', d, reduction);
  const loss = where(lt(d, beta), div(mul(mul(d, d), 0.5), beta), sub(d, 0.5 * beta));
  return reduce('smoothL1Loss', loss, reduction);
}

export interface ClassLossOptions {
  /** Per-class weights [C]. */
  weight?: Tensor | null;
  /** Targets equal to this contribute nothing (class-index targets only). */
  ignoreIndex?: number;
  reduction?: Reduction;
}

/** Moves the class dim (1) last and flattens: [N, C, d...] -> [N*d..., C]. */
function classesLast(op: string, input: Tensor): Tensor {
  if (input.ndim < 1) throw new OpError(op, 'input must have a class dimension');
  if (input.ndim === 1) return unsqueeze(input, 0);
  if (input.ndim === 2) return input;
  const perm = [0, ...input.shape.slice(2).map((_, i) => i + 2), 1];
  return reshape(permute(input, perm), [-1, input.shape[1]!]);
}

function checkTargets(op: string, input: Tensor, target: Tensor): void {
  const expected = input.ndim === 1 ? [] : [input.shape[0]!, ...input.shape.slice(2)];
  if (target.dtype !== 'int32') throw new OpError(op, `class-index target must be int32, got ${target.dtype}`);
  if (target.shape.join() !== expected.join()) throw new OpError(op, `target shape ${fmtShape(target.shape)} must be ${fmtShape(expected)} for input ${fmtShape(input.shape)}`);
}

/** Negative log-likelihood of log-probabilities [N, C, d...] at int32 targets [N, d...]. */
export function nllLoss(logProbs: Tensor, target: Tensor, opts: ClassLossOptions = {}): Tensor {
  checkTargets('nllLoss', logProbs, target);
  const reduction = opts.reduction ?? 'mean';
  const ignore = opts.ignoreIndex ?? -100;
  const lp = classesLast('nllLoss', logProbs);
  const c = lp.shape[1]!;
  const t = reshape(target, [-1]);
  const tv = t.dataSync();
  for (const v of tv) if (v !== ignore && (v < 0 || v >= c)) throw new OpError('nllLoss', `target ${v} is out of bounds for ${c} classes`);
  const valid = ne(t, ignore);
  const safe = where(valid, t, 0);
  const picked = reshape(gather(lp, 1, unsqueeze(safe, 1)), [-1]);
  let w: Tensor = cast(valid, lp.dtype);
  if (opts.weight) {
    if (opts.weight.shape.join() !== String(c)) throw new OpError('nllLoss', `weight must have shape [${c}], got ${fmtShape(opts.weight.shape)}`);
    w = mul(w, indexSelect(opts.weight, 0, safe));
  }
  const loss = neg(mul(picked, w));
  if (reduction === 'none') return reshape(loss, target.shape);
  if (reduction === 'sum') return sum(loss);
  return div(sum(loss), sum(w));
}

export interface CrossEntropyOptions extends ClassLossOptions {
  /** Mixes the target with the uniform distribution: (1 - s) * target + s / C. */
  labelSmoothing?: number;
}

/**
 * Cross-entropy of logits [N, C, d...] against int32 class indices [N, d...] or class
 * probabilities (same shape as the input), with PyTorch's weighting and smoothing rules.
 */
export function crossEntropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const reduction = opts.reduction ?? 'mean';
  const eps = opts.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) throw new OpError('crossEntropy', `labelSmoothing must be in [0, 1], got ${eps}`);
  const classDim = input.ndim === 1 ? 0 : 1;
  const c = input.shape[classDim]!;
  const logp = logSoftmax(input, classDim);
  const wShape = input.shape.map((_, i) => (i === classDim ? c : 1));
  const w = opts.weight ? reshape(opts.weight, wShape) : null;
  if (opts.weight && opts.weight.shape.join() !== String(c)) throw new OpError('crossEntropy', `weight must have shape [${c}], got ${fmtShape(opts.weight.shape)}`);

  if (target.dtype !== 'int32') {
    sameShape('crossEntropy', input, target);
    const t = eps > 0 ? add(mul(target, 1 - eps), eps / c) : target;
    const weighted = w ? mul(logp, w) : logp;
    const loss = neg(sum(mul(weighted, t), classDim));
    if (reduction === 'mean') return div(sum(loss), input.ndim === 1 ? 1 : input.size / c);
    return reduce('crossEntropy', loss, reduction);
  }

  const nll = nllLoss(logp, target, { ...opts, reduction });
  if (eps === 0) return nll;
  const ignore = opts.ignoreIndex ?? -100;
  const valid = cast(ne(target, ignore), logp.dtype);
  const smooth = mul(neg(sum(w ? mul(logp, w) : logp, classDim)), valid);
  let smoothRed: Tensor;
  if (reduction === 'none') smoothRed = smooth;
  else if (reduction === 'sum') smoothRed = sum(smooth);
  else {
    const safe = where(eq(target, ignore), 0, target);
    const denom = opts.weight ? sum(mul(indexSelect(opts.weight, 0, flatten(safe)), flatten(valid))) : sum(valid);
    smoothRed = div(sum(smooth), denom);
  }
  return add(mul(nll, 1 - eps), mul(smoothRed, eps / c));
}

export interface BceOptions {
  weight?: Tensor | null;
  /** Weight of positive examples, broadcast over the class dim. */
  posWeight?: Tensor | null;
  reduction?: Reduction;
}

/** Binary cross-entropy on logits, in the overflow-free form PyTorch uses. */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts: BceOptions = {}): Tensor {
  sameShape('binaryCrossEntropyWithLogits', input, target);
  const softTerm = add(log1p(exp(neg(abs(input)))), relu(neg(input)));
  const logWeight = opts.posWeight ? add(mul(sub(opts.posWeight, 1), target), 1) : null;
  let loss = add(mul(sub(1, target), input), logWeight ? mul(logWeight, softTerm) : softTerm);
  if (opts.weight) loss = mul(loss, opts.weight);
  return reduce('binaryCrossEntropyWithLogits', loss, opts.reduction ?? 'mean');
}

export interface KlDivOptions {
  reduction?: Reduction | 'batchmean';
  /** Target given as log-probabilities. */
  logTarget?: boolean;
}

/** KL(target || input) with `input` as log-probabilities (PyTorch `kl_div`). */
export function klDiv(input: Tensor, target: Tensor, opts: KlDivOptions = {}): Tensor {
  sameShape('klDiv', input, target);
  const pointwise = opts.logTarget
    ? mul(exp(target), sub(target, input))
    : // xlogy: 0 log 0 = 0, with the log's argument guarded so the gradient stays finite too
      sub(mul(target, log(where(eq(target, 0), 1, target))), mul(target, input));
  const reduction = opts.reduction ?? 'mean';
  if (reduction === 'batchmean') return div(sum(pointwise), input.ndim > 0 ? input.shape[0]! : 1);
  return reduce('klDiv', pointwise, reduction);
}
