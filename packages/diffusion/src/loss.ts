/**
 * The epsilon-prediction objective of DDPM (Ho et al. 2020, eq. 14, "L_simple"):
 *
 *   L = E_{t ~ U{0..T-1}, x_0, eps ~ N(0, I)} || eps - eps_theta(sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, t) ||^2
 *
 * averaged over every element (PyTorch's `mse_loss`, as U-ViT's `LSimple` and diffusers' trainers).
 */
import { Generator, mseLoss, OpError, randnLike, type Tensor } from '@methodzoo/core';
import { checkTimesteps, qSample, type NoiseSchedule } from './schedule.js';

/** A noise predictor: eps_theta(x_t, t[, y]) with the same shape as x_t. UNet/UViT `.call` fits. */
export type EpsModel = (x: Tensor, t: number[], y?: Tensor | null) => Tensor;

/** B timesteps uniform on {0, ..., T-1}. */
export function sampleTimesteps(batch: number, schedule: NoiseSchedule, generator: Generator): number[] {
  return Array.from({ length: batch }, () => generator.integer(0, schedule.numTimesteps));
}

export interface EpsilonLossOptions {
  /** Draws t and eps when they are not given. */
  generator?: Generator;
  /** Fixed timesteps (one per sample). */
  t?: number[];
  /** Fixed noise (x0's shape). */
  noise?: Tensor;
  /** Conditioning passed to the model (class labels). */
  y?: Tensor | null;
}

/** L_simple for one batch x0 [B, ...]; returns the scalar loss (differentiable w.r.t. the model). */
export function epsilonLoss(model: EpsModel, schedule: NoiseSchedule, x0: Tensor, opts: EpsilonLossOptions = {}): Tensor {
  const b = x0.shape[0];
  if (b === undefined || b < 1) throw new OpError('epsilonLoss', `x0 must be a batch [B, ...], got [${x0.shape.join(', ')}]`);
  const g = opts.generator ?? new Generator(0);
  const t = opts.t ?? sampleTimesteps(b, schedule, g);
  checkTimesteps('epsilonLoss', schedule, t, b);
  const noise = opts.noise ?? randnLike(x0, { generator: g });
  const xt = qSample(schedule, x0, t, noise);
  const pred = model(xt, t, opts.y);
  if (pred.shape.join() !== x0.shape.join()) throw new OpError('epsilonLoss', `model output [${pred.shape.join(', ')}] must match x0 [${x0.shape.join(', ')}]`);
  return mseLoss(pred, noise);
}
