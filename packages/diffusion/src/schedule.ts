/**
 * DDPM noise schedules (Ho et al. 2020, "Denoising Diffusion Probabilistic Models", sec. 2 and 4):
 *
 *   q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I),   alpha_t = 1 - beta_t,   abar_t = prod_{s<=t} alpha_s   (eq. 4)
 *   posterior variance  betaTilde_t = (1 - abar_{t-1}) / (1 - abar_t) * beta_t                                   (eq. 7)
 *
 * `linear`: beta_t evenly spaced from 1e-4 to 0.02 over T = 1000 steps (sec. 4, torch.linspace).
 * `cosine`: abar_t = f(t) / f(0), f(t) = cos(((t / T) + s) / (1 + s) * pi / 2)^2, s = 0.008, with
 * beta_t = 1 - abar_{t+1} / abar_t clipped at 0.999 (Nichol & Dhariwal 2021, eq. 17).
 *
 * Timesteps are 0-indexed (t = 0 .. T-1, as improved-diffusion and diffusers): index t holds
 * beta_{t+1} of the paper. The schedule lives in float64 arrays on the host; `coefficient` turns
 * one entry per sample into a broadcastable tensor on the data's backend.
 */
import { OpError, tensor, type Tensor, isFloat } from '@methodzoo/core';

export interface NoiseSchedule {
  kind: 'linear' | 'cosine' | 'custom';
  /** T, the number of diffusion steps. */
  numTimesteps: number;
  betas: Float64Array;
  alphas: Float64Array;
  alphasCumprod: Float64Array;
  /** abar_{t-1}, with abar_{-1} = 1. */
  alphasCumprodPrev: Float64Array;
  sqrtAlphasCumprod: Float64Array;
  sqrtOneMinusAlphasCumprod: Float64Array;
  /** betaTilde_t (eq. 7); 0 at t = 0. */
  posteriorVariance: Float64Array;
}

/** Every derived array from a beta sequence (each in (0, 1]). */
export function scheduleFromBetas(betas: ArrayLike<number>, kind: NoiseSchedule['kind'] = 'custom'): NoiseSchedule {
  const T = betas.length;
  if (T < 1) throw new OpError('scheduleFromBetas', 'betas must have at least one entry');
  const b = Float64Array.from(betas);
  for (let i = 0; i < T; i++) {
    if (!(b[i]! > 0 && b[i]! <= 1)) throw new OpError('scheduleFromBetas', `betas must lie in (0, 1], got betas[${i}] = ${b[i]}`);
  }
  const alphas = b.map((x) => 1 - x);
  const ac = new Float64Array(T);
  let p = 1;
  for (let i = 0; i < T; i++) ac[i] = p *= alphas[i]!;
  const prev = new Float64Array(T);
  prev[0] = 1;
  for (let i = 1; i < T; i++) prev[i] = ac[i - 1]!;
  return {
    kind,
    numTimesteps: T,
    betas: b,
    alphas,
    alphasCumprod: ac,
    alphasCumprodPrev: prev,
    sqrtAlphasCumprod: ac.map(Math.sqrt),
    sqrtOneMinusAlphasCumprod: ac.map((a) => Math.sqrt(1 - a)),
    posteriorVariance: b.map((beta, i) => (beta * (1 - prev[i]!)) / (1 - ac[i]!)),
  };
}

/** Ho et al.'s linear schedule: beta_i = betaStart + (betaEnd - betaStart) * i / (T - 1). */
export function linearSchedule(numTimesteps = 1000, opts: { betaStart?: number; betaEnd?: number } = {}): NoiseSchedule {
  const T = checkT('linearSchedule', numTimesteps);
  const lo = opts.betaStart ?? 1e-4;
  const hi = opts.betaEnd ?? 0.02;
  if (!(lo > 0 && hi >= lo && hi <= 1)) throw new OpError('linearSchedule', `need 0 < betaStart <= betaEnd <= 1, got ${lo}, ${hi}`);
  const betas = Array.from({ length: T }, (_, i) => (T === 1 ? lo : lo + ((hi - lo) * i) / (T - 1)));
  return scheduleFromBetas(betas, 'linear');
}

/** Nichol & Dhariwal's cosine schedule (eq. 17) with offset `s` and betas clipped at `maxBeta`. */
export function cosineSchedule(numTimesteps = 1000, opts: { s?: number; maxBeta?: number } = {}): NoiseSchedule {
  const T = checkT('cosineSchedule', numTimesteps);
  const s = opts.s ?? 0.008;
  const maxBeta = opts.maxBeta ?? 0.999;
  const f = (t: number) => Math.cos((((t / T) + s) / (1 + s)) * (Math.PI / 2)) ** 2;
  const betas = Array.from({ length: T }, (_, i) => Math.min(1 - f(i + 1) / f(i), maxBeta));
  return scheduleFromBetas(betas, 'cosine');
}

function checkT(op: string, T: number): number {
  if (!Number.isInteger(T) || T < 1) throw new OpError(op, `numTimesteps must be a positive integer, got ${T}`);
  return T;
}

/** Checks a timestep list against the schedule (integers in [0, T)). */
export function checkTimesteps(op: string, schedule: NoiseSchedule, t: readonly number[], batch?: number): void {
  if (batch !== undefined && t.length !== batch) throw new OpError(op, `need one timestep per sample: ${batch} samples, ${t.length} timesteps`);
  for (const v of t) {
    if (!Number.isInteger(v) || v < 0 || v >= schedule.numTimesteps) throw new OpError(op, `timesteps must be integers in [0, ${schedule.numTimesteps}), got ${v}`);
  }
}

/**
 * `values[t_b]` for each sample b as a tensor [B, 1, ..., 1] that broadcasts against `like`
 * ([B, ...]), on like's backend and float dtype.
 */
export function coefficient(values: ArrayLike<number>, t: readonly number[], like: Tensor): Tensor {
  const dtype = isFloat(like.dtype) ? like.dtype : 'float32';
  const shape = [t.length, ...Array.from({ length: like.ndim - 1 }, () => 1)];
  return tensor(t.map((i) => values[i]!), { dtype, backend: like.backend }).reshape(shape);
}

/**
 * Forward noising (eq. 4 reparameterised): x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps.
 *
 * Shape: x0, noise [B, ...]; t: B integers in [0, T).
 */
export function qSample(schedule: NoiseSchedule, x0: Tensor, t: readonly number[], noise: Tensor): Tensor {
  checkTimesteps('qSample', schedule, t, x0.shape[0]);
  if (noise.shape.join() !== x0.shape.join()) throw new OpError('qSample', `noise [${noise.shape.join(', ')}] must match x0 [${x0.shape.join(', ')}]`);
  return coefficient(schedule.sqrtAlphasCumprod, t, x0).mul(x0).add(coefficient(schedule.sqrtOneMinusAlphasCumprod, t, x0).mul(noise));
}
