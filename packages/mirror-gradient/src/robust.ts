/**
 * Robustness tools for the paper's two risks, applied at test time to item content, and flatness
 * proxies of a trained model.
 * - "Inherent noise": Gaussian noise with per-column standard deviation `sigma * std(column)`.
 * - "Information adjustment": a fraction of items get their features mixed with another item's,
 *   `x_i <- (1 - mix) x_i + mix x_j` for a random j != i.
 * - Flatness: the full-batch gradient norm, and the mean loss increase under random weight
 *   perturbations whose per-tensor scale is `rho * RMS(tensor)`.
 */
import { type Generator, grad, noGrad, OpError, randn, scope, type Tensor, tensor } from '@methodzoo/core';

/** `features + sigma * std(column) * N(0, 1)`, a new tensor (the input is left unchanged). */
export function gaussianFeatureNoise(features: Tensor, sigma: number, generator: Generator): Tensor {
  if (!(sigma >= 0)) throw new OpError('gaussianFeatureNoise', `sigma must be >= 0, got ${sigma}`);
  if (features.ndim !== 2) throw new OpError('gaussianFeatureNoise', `features must be [N, F], got [${features.shape.join(', ')}]`);
  return noGrad(() => scope(() => {
    const std = features.std(0, { keepdim: true });
    return features.add(randn(features.shape, { generator }).mul(std).mul(sigma));
  }));
}

/** A fraction of the rows replaced by `(1 - mix) x_i + mix x_j` with j a uniformly drawn other row. */
export function informationAdjustment(features: Tensor, fraction: number, generator: Generator, mix = 0.7): Tensor {
  const op = 'informationAdjustment';
  if (!(fraction >= 0 && fraction <= 1)) throw new OpError(op, `fraction must be in [0, 1], got ${fraction}`);
  if (!(mix >= 0 && mix <= 1)) throw new OpError(op, `mix must be in [0, 1], got ${mix}`);
  if (features.ndim !== 2) throw new OpError(op, `features must be [N, F], got [${features.shape.join(', ')}]`);
  const [n, f] = features.shape as [number, number];
  if (n < 2 && fraction > 0) throw new OpError(op, 'needs at least two rows to mix');
  const src = Float32Array.from(features.dataSync() as ArrayLike<number>);
  const out = Float32Array.from(src);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = generator.integer(0, i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (const i of order.slice(0, Math.round(fraction * n))) {
    let j = generator.integer(0, n - 1);
    if (j >= i) j++;
    for (let c = 0; c < f; c++) out[i * f + c] = (1 - mix) * src[i * f + c]! + mix * src[j * f + c]!;
  }
  return tensor(out, { shape: [n, f] });
}

/** The L2 norm of the gradient of `lossFn()` (e.g. the full-batch training loss) over `params`. */
export function gradientNorm(params: Tensor[], lossFn: () => Tensor): number {
  return scope(() => {
    const loss = lossFn();
    const gs = grad([loss], params, { allowUnused: true });
    let s = 0;
    for (const g of gs) if (g) s += g.mul(g).sum().item();
    return Math.sqrt(s);
  });
}

export interface SharpnessOptions {
  /** Relative scale: each tensor gets noise of standard deviation `rho * RMS(tensor)`; 0.05 by default. */
  rho?: number;
  /** Random directions averaged; 5 by default. */
  draws?: number;
  generator: Generator;
}

/**
 * Mean of `lossFn(theta + delta) - lossFn(theta)` over random perturbations delta (per tensor
 * Gaussian with std `rho * RMS`). The parameters are restored exactly afterwards.
 */
export function sharpnessProxy(params: Tensor[], lossFn: () => Tensor, opts: SharpnessOptions): number {
  const rho = opts.rho ?? 0.05;
  const draws = opts.draws ?? 5;
  if (!(rho >= 0)) throw new OpError('sharpnessProxy', `rho must be >= 0, got ${rho}`);
  if (!Number.isInteger(draws) || draws < 1) throw new OpError('sharpnessProxy', `draws must be a positive integer, got ${draws}`);
  return noGrad(() => {
    const saved = params.map((p) => Float32Array.from(p.dataSync() as ArrayLike<number>));
    const base = scope(() => lossFn().item());
    let total = 0;
    try {
      for (let d = 0; d < draws; d++) {
        scope(() => {
          for (const p of params) {
            const rms = Math.sqrt(p.mul(p).mean().item());
            p.assign(p.add(randn(p.shape, { generator: opts.generator }).mul(rho * rms)));
          }
        });
        total += scope(() => lossFn().item()) - base;
        params.forEach((p, i) => scope(() => p.assign(tensor(saved[i]!, { shape: p.shape }))));
      }
    } finally {
      params.forEach((p, i) => scope(() => p.assign(tensor(saved[i]!, { shape: p.shape }))));
    }
    return total / draws;
  });
}
