/**
 * Mirror Gradient (Zhong et al., WWW 2024, arXiv:2402.11262) as a wrapper over any core optimiser.
 *
 * Algorithm 1 of the paper, on a mirror iteration:
 *   theta'  = theta  - alpha1 * lr * grad L(theta)       (descent)
 *   theta'' = theta' + alpha2 * lr * grad L(theta')      (the "mirror": gradient re-evaluated at theta', sign flipped)
 * and a plain step otherwise. Like the official trainer, the wrapper does this for any optimiser by
 * feeding the base optimiser the gradients of alpha1 * L and of -alpha2 * L (both on the same batch,
 * through the closure) and stepping it twice. With plain SGD this is Algorithm 1 exactly; with Adam
 * the scaled gradients only enter the moments (see the README).
 *
 * Counters: 'epoch' (official code, the default) mirrors batches 0, beta, 2beta, ... of every epoch
 * (reset with `startEpoch()`); 'global' (the paper) mirrors iterations t = beta, 2beta, ... counted
 * from 1 over the whole run.
 */
import { enableGrad, noGrad, OpError, type optim, scope, type Tensor } from '@methodzoo/core';

export type MirrorCounter = 'epoch' | 'global';

/** Which base step a gradient is about to be used for: a plain step, or the first / second of a mirror pair. */
export type MirrorPhase = 'normal' | 'descent' | 'mirror';

export interface MirrorEvent {
  /** The counter value of the mirrored iteration (batch index in the epoch, or global t). */
  index: number;
  /** Loss at theta (first evaluation) and at theta' (second), 0-d tensors valid during the call. */
  loss: Tensor;
  mirrorLoss: Tensor;
}

export interface MirrorGradientOptions {
  /** Scale of the descent gradient on mirror iterations; 1 by default. */
  alpha1?: number;
  /** Scale of the negated gradient at the intermediate point; 0.2 by default (middle of the official grid {0.1, 0.2, 0.3}). */
  alpha2?: number;
  /** Mirror every beta-th iteration; 3 by default. */
  beta?: number;
  /** 'epoch' (official code, default) or 'global' (the paper's Algorithm 1). */
  counter?: MirrorCounter;
  /** false turns MG off (every step is the base optimiser's), the official `--not_mg` switch; true by default. */
  enabled?: boolean;
  /**
   * Called after the gradients of a step are computed and before the base optimiser uses them, e.g.
   * to clip: `beforeStep: (phase) => phase !== 'descent' && optim.clipGradNorm(params, 1)` reproduces
   * the official trainer, which clips before plain steps and before the mirror step only.
   */
  beforeStep?: (phase: MirrorPhase) => void;
  /** Called after every mirror pair (for logging). */
  onMirror?: (event: MirrorEvent) => void;
}

function validate(alpha1: number, alpha2: number, beta: number, counter: string): void {
  const op = 'mirrorGradient';
  if (!Number.isFinite(alpha1) || !Number.isFinite(alpha2)) throw new OpError(op, `alpha1 and alpha2 must be finite numbers, got ${alpha1} and ${alpha2}`);
  if (!(alpha2 >= 0)) throw new OpError(op, `alpha2 must be >= 0, got ${alpha2}`);
  if (!(alpha1 > alpha2)) throw new OpError(op, `alpha1 must be greater than alpha2 (the paper requires alpha1 > alpha2 >= 0 so the pair stays a descent step), got alpha1 = ${alpha1}, alpha2 = ${alpha2}`);
  if (!Number.isInteger(beta) || beta < 1) throw new OpError(op, `beta must be a positive integer, got ${beta}`);
  if (counter !== 'epoch' && counter !== 'global') throw new OpError(op, `counter must be 'epoch' or 'global', got '${counter}'`);
}

/** The wrapper returned by `mirrorGradient`; drive it with `step(closure)` once per batch. */
export class MirrorGradient<O extends optim.Optimizer = optim.Optimizer> {
  readonly base: O;
  readonly alpha1: number;
  readonly alpha2: number;
  readonly beta: number;
  readonly counter: MirrorCounter;
  enabled: boolean;
  beforeStep?: (phase: MirrorPhase) => void;
  onMirror?: (event: MirrorEvent) => void;
  /** Batches done in the current epoch (the official counter). */
  batchInEpoch = 0;
  /** Iterations done over the run (the paper's t - 1). */
  iteration = 0;
  /** Base optimiser steps taken through this wrapper (a mirror pair counts two). */
  baseSteps = 0;

  constructor(base: O, opts: MirrorGradientOptions = {}) {
    const { alpha1 = 1, alpha2 = 0.2, beta = 3, counter = 'epoch' } = opts;
    validate(alpha1, alpha2, beta, counter);
    this.base = base;
    this.alpha1 = alpha1;
    this.alpha2 = alpha2;
    this.beta = beta;
    this.counter = counter;
    this.enabled = opts.enabled ?? true;
    this.beforeStep = opts.beforeStep;
    this.onMirror = opts.onMirror;
  }

  /** The base optimiser's groups (schedulers attach to `base`, and see its learning rates). */
  get paramGroups(): O['paramGroups'] {
    return this.base.paramGroups;
  }

  /** Resets the per-epoch batch counter (the 'epoch' counter mirrors batch 0 of every epoch). */
  startEpoch(): void {
    this.batchInEpoch = 0;
  }

  /**
   * Whether iteration `i` mirrors: `i` is the 0-based batch index in the epoch under the 'epoch'
   * counter, the 1-based global iteration t under 'global'. Without `i`, whether the next `step` mirrors.
   */
  isMirrorStep(i?: number): boolean {
    if (!this.enabled) return false;
    const idx = i ?? (this.counter === 'epoch' ? this.batchInEpoch : this.iteration + 1);
    if (!Number.isInteger(idx) || idx < (this.counter === 'epoch' ? 0 : 1)) {
      throw new OpError('MirrorGradient.isMirrorStep', `i must be an integer >= ${this.counter === 'epoch' ? 0 : 1} under the '${this.counter}' counter, got ${i}`);
    }
    return idx % this.beta === 0;
  }

  zeroGrad(): void {
    this.base.zeroGrad();
  }

  /**
   * One iteration on one batch. `closure` runs the forward pass on the batch and returns the scalar
   * loss (without calling backward): it is called once on a normal iteration and twice on a mirror
   * iteration, where it must use the same batch (users, positives and sampled negatives). Gradients
   * are cleared first. Returns the first loss (detached), which the official trainer logs.
   */
  step(closure: () => Tensor): Tensor {
    if (typeof closure !== 'function') throw new OpError('MirrorGradient.step', 'needs a closure that evaluates the loss on the current batch');
    const index = this.counter === 'epoch' ? this.batchInEpoch : this.iteration + 1;
    const mirror = this.isMirrorStep(index);
    this.batchInEpoch++;
    this.iteration++;
    return scope(() => {
      this.base.zeroGrad();
      const loss = this.backwardOf(closure, mirror ? this.alpha1 : 1);
      this.takeStep(mirror ? 'descent' : 'normal');
      if (!mirror) return loss;
      this.base.zeroGrad();
      // -alpha2 * L: the gradient at theta' with its sign flipped (the official code's `backward(-alpha2 * L2)`)
      const mirrorLoss = this.backwardOf(closure, -this.alpha2);
      this.takeStep('mirror');
      this.onMirror?.({ index, loss, mirrorLoss });
      return loss;
    });
  }

  private backwardOf(closure: () => Tensor, scale: number): Tensor {
    return enableGrad(() => {
      const loss = closure();
      if (loss.size !== 1) throw new OpError('MirrorGradient.step', `the closure must return a scalar loss, got shape [${loss.shape.join(', ')}]`);
      (scale === 1 ? loss : loss.mul(scale)).backward();
      return loss.detach();
    });
  }

  private takeStep(phase: MirrorPhase): void {
    if (this.beforeStep) noGrad(() => this.beforeStep!(phase));
    this.base.step();
    this.baseSteps++;
  }
}

/** Wraps `baseOptimizer` (SGD, Adam, AdamW, ...) with Mirror Gradient; see `MirrorGradient`. */
export function mirrorGradient<O extends optim.Optimizer>(baseOptimizer: O, opts: MirrorGradientOptions = {}): MirrorGradient<O> {
  return new MirrorGradient(baseOptimizer, opts);
}
