/**
 * Reverse-process samplers.
 *
 * DDPM (Ho et al. 2020, Algorithm 2 / eq. 11):
 *   x_{t-1} = 1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - abar_t) eps_theta) + sigma_t z,   z ~ N(0, I), z = 0 at t = 0
 *   sigma_t^2 = betaTilde_t ('fixedSmall', default) or beta_t ('fixedLarge').
 * With `clipDenoised` the mean is taken through the clipped x0 prediction instead, as the posterior
 * mean of eq. 7: mu = c0 x0_hat + ct x_t, c0 = beta_t sqrt(abar_{t-1}) / (1 - abar_t),
 * ct = (1 - abar_{t-1}) sqrt(alpha_t) / (1 - abar_t); unclipped, both forms are equal.
 *
 * DDIM (Song et al. 2021, eq. 12 and 16), from t to an earlier s (s = -1 means abar_s = 1):
 *   x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)
 *   sigma  = eta sqrt((1 - abar_s) / (1 - abar_t)) sqrt(1 - abar_t / abar_s)
 *   x_s    = sqrt(abar_s) x0_hat + sqrt(1 - abar_s - sigma^2) eps + sigma z
 * eta = 0 is deterministic; eta = 1 with s = t - 1 is the DDPM step with sigma^2 = betaTilde_t.
 */
import { clamp, Generator, noGrad, OpError, randn, randnLike, scope, type Tensor } from '@methodzoo/core';
import type { EpsModel } from './loss.js';
import { checkTimesteps, coefficient, type NoiseSchedule } from './schedule.js';

/** x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t), per sample. */
export function predictX0(schedule: NoiseSchedule, xt: Tensor, t: readonly number[], eps: Tensor): Tensor {
  checkTimesteps('predictX0', schedule, t, xt.shape[0]);
  return xt.sub(coefficient(schedule.sqrtOneMinusAlphasCumprod, t, xt).mul(eps)).div(coefficient(schedule.sqrtAlphasCumprod, t, xt));
}

export interface DDPMStepOptions {
  /** z in eq. 11 (drawn from `generator` when absent; unused at t = 0). */
  noise?: Tensor;
  generator?: Generator;
  variance?: 'fixedSmall' | 'fixedLarge';
  /** Clip x0_hat to [-1, 1] and take the posterior mean through it. */
  clipDenoised?: boolean;
}

/** One ancestral step x_t -> x_{t-1}, the same t for the whole batch. */
export function ddpmStep(schedule: NoiseSchedule, xt: Tensor, t: number, eps: Tensor, opts: DDPMStepOptions = {}): Tensor {
  checkTimesteps('ddpmStep', schedule, [t]);
  const a = schedule.alphas[t]!;
  const beta = schedule.betas[t]!;
  const ac = schedule.alphasCumprod[t]!;
  const acPrev = schedule.alphasCumprodPrev[t]!;
  let mean: Tensor;
  if (opts.clipDenoised) {
    const x0 = clamp(xt.sub(eps.mul(Math.sqrt(1 - ac))).div(Math.sqrt(ac)), -1, 1);
    mean = x0.mul((beta * Math.sqrt(acPrev)) / (1 - ac)).add(xt.mul(((1 - acPrev) * Math.sqrt(a)) / (1 - ac)));
  } else {
    mean = xt.sub(eps.mul(beta / Math.sqrt(1 - ac))).div(Math.sqrt(a));
  }
  if (t === 0) return mean;
  const variance = opts.variance === 'fixedLarge' ? beta : schedule.posteriorVariance[t]!;
  const z = opts.noise ?? randnLike(xt, { generator: opts.generator ?? new Generator(0) });
  return mean.add(z.mul(Math.sqrt(variance)));
}

export interface DDIMStepOptions {
  /** 0 (default): deterministic DDIM; 1: DDPM-like stochasticity. */
  eta?: number;
  noise?: Tensor;
  generator?: Generator;
  clipDenoised?: boolean;
}

/** One DDIM step from t to s < t (s = -1: to the data, abar = 1). */
export function ddimStep(schedule: NoiseSchedule, xt: Tensor, t: number, s: number, eps: Tensor, opts: DDIMStepOptions = {}): Tensor {
  checkTimesteps('ddimStep', schedule, [t]);
  if (!Number.isInteger(s) || s < -1 || s >= t) throw new OpError('ddimStep', `the next timestep s must be an integer in [-1, t = ${t}), got ${s}`);
  const eta = opts.eta ?? 0;
  if (!(eta >= 0)) throw new OpError('ddimStep', `eta must be >= 0, got ${eta}`);
  const ac = schedule.alphasCumprod[t]!;
  const acS = s < 0 ? 1 : schedule.alphasCumprod[s]!;
  let x0 = xt.sub(eps.mul(Math.sqrt(1 - ac))).div(Math.sqrt(ac));
  let e = eps;
  if (opts.clipDenoised) {
    x0 = clamp(x0, -1, 1);
    // keep x_t consistent with the clipped x0 (the eps that x0 implies)
    e = xt.sub(x0.mul(Math.sqrt(ac))).div(Math.sqrt(1 - ac));
  }
  const sigma = eta * Math.sqrt((1 - acS) / (1 - ac)) * Math.sqrt(1 - ac / acS);
  let out = x0.mul(Math.sqrt(acS)).add(e.mul(Math.sqrt(Math.max(0, 1 - acS - sigma * sigma))));
  if (sigma > 0) out = out.add((opts.noise ?? randnLike(xt, { generator: opts.generator ?? new Generator(0) })).mul(sigma));
  return out;
}

/** The `steps` timesteps DDIM visits, descending: floor(i T / steps) for i = steps-1 .. 0. */
export function ddimTimesteps(numTimesteps: number, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > numTimesteps) throw new OpError('ddimTimesteps', `steps must be an integer in [1, ${numTimesteps}], got ${steps}`);
  return Array.from({ length: steps }, (_, i) => Math.floor(((steps - 1 - i) * numTimesteps) / steps));
}

export interface SampleOptions {
  sampler?: 'ddpm' | 'ddim';
  /** DDIM only: number of steps (50). */
  steps?: number;
  /** DDIM only (0). */
  eta?: number;
  generator?: Generator;
  /** Conditioning for the model (class labels, one per sample). */
  y?: Tensor | null;
  clipDenoised?: boolean;
  variance?: 'fixedSmall' | 'fixedLarge';
  /** Starting noise x_T (drawn from `generator` when absent). */
  xT?: Tensor;
  /** Called after each step with the timestep just taken. */
  onStep?: (t: number) => void;
}

/**
 * Draws a batch of samples of `shape` ([B, C, H, W]) by running the reverse process without
 * gradients; intermediate tensors are freed step by step. Deterministic under a seeded generator.
 */
export function sample(model: EpsModel, schedule: NoiseSchedule, shape: number[], opts: SampleOptions = {}): Tensor {
  const g = opts.generator ?? new Generator(0);
  const sampler = opts.sampler ?? 'ddim';
  if (sampler !== 'ddpm' && sampler !== 'ddim') throw new OpError('sample', `sampler must be 'ddpm' or 'ddim', got '${String(sampler)}'`);
  const ts = sampler === 'ddpm' ? Array.from({ length: schedule.numTimesteps }, (_, i) => schedule.numTimesteps - 1 - i) : ddimTimesteps(schedule.numTimesteps, opts.steps ?? 50);
  return noGrad(() => {
    let x = opts.xT ? opts.xT.mul(1) : randn(shape, { generator: g });
    if (x.shape.join() !== shape.join()) throw new OpError('sample', `xT [${x.shape.join(', ')}] must have shape [${shape.join(', ')}]`);
    const b = shape[0]!;
    ts.forEach((t, k) => {
      const next = scope(() => {
        const eps = model(x, Array.from({ length: b }, () => t), opts.y);
        if (sampler === 'ddpm') return ddpmStep(schedule, x, t, eps, { generator: g, clipDenoised: opts.clipDenoised, variance: opts.variance });
        return ddimStep(schedule, x, t, ts[k + 1] ?? -1, eps, { eta: opts.eta, generator: g, clipDenoised: opts.clipDenoised });
      });
      x.dispose();
      x = next;
      opts.onStep?.(t);
    });
    return x;
  });
}
