/**
 * The diffusion stack against its PyTorch twin (tools/golden/diffusion_golden.py, float64, written from
 * Ho et al. 2020 and Song et al. 2021): schedule arrays at a few timesteps, q_sample, L_simple with a
 * fixed toy predictor, DDPM steps (mean, variance, x_{t-1} for a fixed z; clipped and not;
 * betaTilde and beta variances) and DDIM steps (eta 0, 0.5, 1; clipped and not; to s = -1).
 * float64 agrees to 1e-10 (relative to the largest expected magnitude), float32 to 1e-5.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clamp, tensor, zerosLike, type DType, type Tensor } from '@methodzoo/core';
import { cosineSchedule, ddimStep, ddpmStep, epsilonLoss, linearSchedule, predictX0, qSample, type NoiseSchedule } from '../src/index.js';

interface Flat {
  shape: number[];
  data: number[];
}
type ScheduleKey = 'betas' | 'alphas' | 'alphasCumprod' | 'alphasCumprodPrev' | 'posteriorVariance';
const fx = JSON.parse(readFileSync(new URL('./fixtures/diffusion-golden.json', import.meta.url), 'utf8')) as {
  numTimesteps: number;
  schedules: Record<'linear' | 'cosine', { t: number[] } & Record<ScheduleKey, number[]>>;
  forward: { x0: Flat; noise: Flat; t: number[] } & Record<'linear' | 'cosine', { xt: Flat; loss: number }>;
  reverse: {
    xt: Flat;
    eps: Flat;
    noise: Flat;
    ddpm: { t: number; clipDenoised: boolean; variance: 'fixedSmall' | 'fixedLarge'; mean: Flat; varianceValue: number; out: Flat }[];
    ddim: { t: number; s: number; eta: number; clipDenoised: boolean; x0: Flat; sigma: number; out: Flat }[];
  };
};

const schedules: Record<'linear' | 'cosine', NoiseSchedule> = { linear: linearSchedule(fx.numTimesteps), cosine: cosineSchedule(fx.numTimesteps) };
const T = (f: Flat, dtype: DType): Tensor => tensor(f.data, { shape: f.shape, dtype });

/** Largest error relative to max(1, max |expected|); fails with the first offending element. */
function maxError(what: string, actual: Tensor | number[], expected: Flat | number[], tol: number): number {
  const e = Array.isArray(expected) ? expected : expected.data;
  if (!Array.isArray(expected) && !Array.isArray(actual)) expect(actual.shape, `${what} shape`).toEqual(expected.shape);
  const a = Array.isArray(actual) ? actual : Array.from(actual.dataSync() as ArrayLike<number>, Number);
  expect(a.length, `${what} length`).toBe(e.length);
  const scale = Math.max(1, ...e.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < e.length; i++) {
    const err = Math.abs(a[i]! - e[i]!) / scale;
    if (!(err <= tol)) expect.fail(`${what}: element ${i} is ${a[i]}, PyTorch has ${e[i]} (error ${err.toExponential(2)})`);
    worst = Math.max(worst, err);
  }
  return worst;
}

describe('schedules equal PyTorch (float64 host arrays)', () => {
  for (const name of ['linear', 'cosine'] as const) {
    it(`${name}: betas, alphas, alphas_cumprod, alphas_cumprod_prev, posterior variance`, () => {
      const g = fx.schedules[name];
      const s = schedules[name];
      for (const key of ['betas', 'alphas', 'alphasCumprod', 'alphasCumprodPrev', 'posteriorVariance'] as const) {
        maxError(`${name} ${key}`, g.t.map((t) => s[key][t]!), g[key], 1e-12);
      }
    });
  }
});

const tol = { float64: 1e-10, float32: 1e-5 } as const;
for (const dtype of ['float64', 'float32'] as const) {
  describe(`${dtype}: forward noising, L_simple and the reverse steps equal PyTorch`, () => {
    it('qSample and epsilonLoss (toy predictor 0.5 x + 1e-3 t) on both schedules', () => {
      const { x0, noise, t } = fx.forward;
      for (const name of ['linear', 'cosine'] as const) {
        const xt = qSample(schedules[name], T(x0, dtype), t, T(noise, dtype));
        expect(xt.dtype).toBe(dtype);
        maxError(`${name} q_sample`, xt, fx.forward[name].xt, tol[dtype]);
        const model = (x: Tensor, tt: number[]) => x.mul(0.5).add(tensor(tt.map((v) => v * 1e-3), { shape: [tt.length, 1, 1, 1], dtype }));
        const loss = epsilonLoss(model, schedules[name], T(x0, dtype), { t, noise: T(noise, dtype) });
        maxError(`${name} loss`, [loss.item()], [fx.forward[name].loss], tol[dtype]);
      }
    });

    it('DDPM step: mean, variance and x_{t-1} for a fixed z', () => {
      const s = schedules.linear;
      const xt = T(fx.reverse.xt, dtype);
      const eps = T(fx.reverse.eps, dtype);
      const z = T(fx.reverse.noise, dtype);
      expect(fx.reverse.ddpm).toHaveLength(20);
      for (const c of fx.reverse.ddpm) {
        const what = `ddpm t=${c.t} clip=${c.clipDenoised} ${c.variance}`;
        const opts = { clipDenoised: c.clipDenoised, variance: c.variance };
        maxError(`${what} mean`, ddpmStep(s, xt, c.t, eps, { ...opts, noise: zerosLike(xt) }), c.mean, tol[dtype]);
        maxError(`${what} x_{t-1}`, ddpmStep(s, xt, c.t, eps, { ...opts, noise: z }), c.out, tol[dtype]);
        maxError(`${what} variance`, [c.variance === 'fixedSmall' ? s.posteriorVariance[c.t]! : s.betas[c.t]!], [c.varianceValue], 1e-15);
      }
    });

    it('DDIM step: x0 prediction and x_s for eta 0 / 0.5 / 1 with a fixed z, down to s = -1', () => {
      const s = schedules.linear;
      const xt = T(fx.reverse.xt, dtype);
      const eps = T(fx.reverse.eps, dtype);
      const z = T(fx.reverse.noise, dtype);
      expect(fx.reverse.ddim).toHaveLength(30);
      for (const c of fx.reverse.ddim) {
        const what = `ddim ${c.t}->${c.s} eta=${c.eta} clip=${c.clipDenoised}`;
        const x0 = predictX0(s, xt, [c.t, c.t], eps);
        maxError(`${what} x0`, c.clipDenoised ? clamp(x0, -1, 1) : x0, c.x0, tol[dtype]);
        const out = ddimStep(s, xt, c.t, c.s, eps, { eta: c.eta, noise: z, clipDenoised: c.clipDenoised });
        maxError(`${what} x_s`, out, c.out, tol[dtype]);
        if (c.eta === 0) expect(c.sigma).toBe(0);
        else {
          // sigma recovered from the step: (x_s(z) - x_s(0)) . z / |z|^2
          const d = out.sub(ddimStep(s, xt, c.t, c.s, eps, { eta: c.eta, noise: zerosLike(z), clipDenoised: c.clipDenoised }));
          const sigma = d.mul(z).sum().item() / z.mul(z).sum().item();
          maxError(`${what} sigma`, [sigma], [c.sigma], dtype === 'float64' ? 1e-10 : 1e-5);
        }
      }
    });
  });
}
