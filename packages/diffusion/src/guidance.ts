/**
 * Classifier-free guidance (Ho & Salimans 2021, "Classifier-Free Diffusion Guidance", eq. 6,
 * written in the w+1 = scale form of Imagen / diffusers):
 *
 *   eps_guided = eps(x, t, null) + scale * (eps(x, t, y) - eps(x, t, null))
 *
 * scale = 1 is the conditional model, 0 the unconditional one. Training drops labels to the null
 * label with probability p_uncond (0.1-0.2 in the paper) so one network learns both. With the
 * `@methodzoo/models` UNet/UViT, build the model with numClasses + 1 classes and use numClasses as
 * the null label.
 */
import { bernoulli, cat, full, Generator, OpError, split, where, type Tensor } from '@methodzoo/core';
import type { EpsModel } from './loss.js';

/** eps_u + scale (eps_c - eps_u). */
export function guidedEpsilon(epsCond: Tensor, epsUncond: Tensor, scale: number): Tensor {
  if (epsCond.shape.join() !== epsUncond.shape.join()) throw new OpError('guidedEpsilon', `epsCond [${epsCond.shape.join(', ')}] and epsUncond [${epsUncond.shape.join(', ')}] must match`);
  return epsUncond.add(epsCond.sub(epsUncond).mul(scale));
}

/** Replaces each label by `nullLabel` with probability `p` (training-time condition dropout). */
export function dropLabels(y: Tensor, p: number, nullLabel: number, generator: Generator): Tensor {
  if (!(p >= 0 && p <= 1)) throw new OpError('dropLabels', `p must be in [0, 1], got ${p}`);
  const drop = bernoulli(y.shape, p, { generator, backend: y.backend }).gt(0.5);
  return where(drop, full(y.shape, nullLabel, { dtype: y.dtype, backend: y.backend }), y);
}

/**
 * Wraps a conditional noise predictor into a guided one: each call runs the model once on the
 * doubled batch [x; x] with labels [y; null] and combines the halves with `guidedEpsilon`.
 */
export function classifierFreeGuidance(model: EpsModel, opts: { scale: number; nullLabel: number }): EpsModel {
  return (x, t, y) => {
    if (!y) throw new OpError('classifierFreeGuidance', 'labels y are required');
    const nul = full(y.shape, opts.nullLabel, { dtype: y.dtype, backend: y.backend });
    const out = model(cat([x, x], 0), [...t, ...t], cat([y, nul], 0));
    const [c, u] = split(out, x.shape[0]!, 0) as [Tensor, Tensor];
    return guidedEpsilon(c, u, opts.scale);
  };
}
