/**
 * Exponential moving average of a model's parameters (Polyak averaging), as every DDPM codebase
 * keeps for sampling (Ho et al. 2020 use decay 0.9999; U-ViT too):
 *
 *   shadow <- d * shadow + (1 - d) * param,   d = decay, or min(decay, (1 + n) / (10 + n)) with warm-up
 *
 * (n = updates so far; the warm-up is TensorFlow's `ExponentialMovingAverage(num_updates)` rule).
 * Shadows are separate tensors keyed by the dotted parameter names of `namedParameters()`.
 */
import { noGrad, OpError, scope, keep, type Tensor, type nn } from '@methodzoo/core';

export interface EMAOptions {
  decay?: number;
  warmup?: boolean;
}

export class EMA {
  readonly decay: number;
  readonly warmup: boolean;
  numUpdates = 0;
  readonly shadow = new Map<string, Tensor>();

  constructor(model: nn.Module, opts: EMAOptions = {}) {
    this.decay = opts.decay ?? 0.9999;
    if (!(this.decay >= 0 && this.decay <= 1)) throw new OpError('EMA', `decay must be in [0, 1], got ${this.decay}`);
    this.warmup = opts.warmup ?? false;
    noGrad(() => {
      for (const [name, p] of model.namedParameters()) this.shadow.set(name, keep(p.detach().mul(1)));
    });
  }

  /** The decay the next `update` uses. */
  currentDecay(): number {
    return this.warmup ? Math.min(this.decay, (1 + this.numUpdates) / (10 + this.numUpdates)) : this.decay;
  }

  /** shadow <- d shadow + (1 - d) param for every parameter. */
  update(model: nn.Module): void {
    const d = this.currentDecay();
    noGrad(() => {
      for (const [name, p] of model.namedParameters()) {
        const s = this.shadowOf(name, p);
        scope(() => {
          s.assign(s.mul(d).add(p.detach().mul(1 - d)));
        });
      }
    });
    this.numUpdates++;
  }

  /** Writes the averaged weights into `model` (in place). */
  copyTo(model: nn.Module): void {
    noGrad(() => {
      for (const [name, p] of model.namedParameters()) p.assign(this.shadowOf(name, p).mul(1));
    });
  }

  /** Runs `fn` with the averaged weights in `model`, then puts the live weights back. */
  withAveraged<T>(model: nn.Module, fn: () => T): T {
    const saved = noGrad(() => model.namedParameters().map(([n, p]) => [n, keep(p.detach().mul(1))] as const));
    this.copyTo(model);
    try {
      return fn();
    } finally {
      noGrad(() => {
        for (const [n, p] of model.namedParameters()) {
          const s = saved.find(([m]) => m === n)![1];
          p.assign(s);
          s.dispose();
        }
      });
    }
  }

  dispose(): void {
    for (const t of this.shadow.values()) t.dispose();
    this.shadow.clear();
  }

  private shadowOf(name: string, p: Tensor): Tensor {
    const s = this.shadow.get(name);
    if (!s) throw new OpError('EMA', `parameter '${name}' has no shadow (the model differs from the one the EMA was built on)`);
    if (s.shape.join() !== p.shape.join()) throw new OpError('EMA', `parameter '${name}' has shape [${p.shape.join(', ')}], its shadow [${s.shape.join(', ')}]`);
    return s;
  }
}
