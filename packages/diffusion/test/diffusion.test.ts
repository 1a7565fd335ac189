import { describe, expect, it } from 'vitest';
import { cast, Generator, nn, randn, tensor, type Tensor } from '@methodzoo/core';
import {
  EMA, classifierFreeGuidance, cosineSchedule, ddimStep, ddimTimesteps, ddpmStep, dropLabels, epsilonLoss,
  guidedEpsilon, linearSchedule, predictX0, qSample, sample, scheduleFromBetas,
} from '../src/index.js';

const arr = (t: Tensor) => Array.from(t.dataSync() as Float32Array);
const meanOf = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const varOf = (v: number[]) => {
  const m = meanOf(v);
  return v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length;
};

describe('schedules', () => {
  it('linear: betas evenly spaced 1e-4..0.02 and abar the running product', () => {
    const s = linearSchedule(1000);
    expect(s.betas[0]).toBeCloseTo(1e-4, 15);
    expect(s.betas[999]).toBeCloseTo(0.02, 15);
    expect(s.betas[500]! - s.betas[499]!).toBeCloseTo((0.02 - 1e-4) / 999, 15);
    // closed form: log abar_t = sum_{i<=t} log(1 - beta_i)
    for (const t of [0, 1, 10, 250, 999]) {
      let l = 0;
      for (let i = 0; i <= t; i++) l += Math.log(1 - (1e-4 + ((0.02 - 1e-4) * i) / 999));
      expect(s.alphasCumprod[t]).toBeCloseTo(Math.exp(l), 12);
    }
    // the value every DDPM codebase prints for alphas_cumprod[-1]
    expect(s.alphasCumprod[999]).toBeCloseTo(4.0358e-5, 8);
    expect(s.sqrtAlphasCumprod[400]! ** 2 + s.sqrtOneMinusAlphasCumprod[400]! ** 2).toBeCloseTo(1, 12);
    expect(s.posteriorVariance[0]).toBe(0);
    expect(s.posteriorVariance[10]).toBeCloseTo((s.betas[10]! * (1 - s.alphasCumprod[9]!)) / (1 - s.alphasCumprod[10]!), 15);
    expect(s.alphasCumprodPrev[0]).toBe(1);
  });

  it('cosine: abar_t = f(t+1)/f(0) until the beta clip', () => {
    const T = 1000;
    const s = cosineSchedule(T);
    const f = (t: number) => Math.cos(((t / T + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    for (const t of [0, 1, 100, 500, 900]) expect(s.alphasCumprod[t]).toBeCloseTo(f(t + 1) / f(0), 12);
    expect(s.betas[T - 1]).toBe(0.999);
    expect(Math.max(...s.betas)).toBe(0.999);
  });

  it('abar is strictly decreasing in (0, 1) for both schedules', () => {
    for (const s of [linearSchedule(1000), cosineSchedule(1000), linearSchedule(50, { betaStart: 1e-3, betaEnd: 0.2 })]) {
      for (let t = 1; t < s.numTimesteps; t++) expect(s.alphasCumprod[t]!).toBeLessThan(s.alphasCumprod[t - 1]!);
      expect(s.alphasCumprod[0]!).toBeLessThan(1);
      expect(s.alphasCumprod[s.numTimesteps - 1]!).toBeGreaterThan(0);
    }
  });

  it('rejects bad arguments', () => {
    expect(() => scheduleFromBetas([0.1, 0])).toThrow(/betas\[1\] = 0/);
    expect(() => linearSchedule(0)).toThrow(/numTimesteps/);
    expect(() => qSample(linearSchedule(10), randn([2, 3]), [0, 10], randn([2, 3]))).toThrow(/\[0, 10\)/);
  });
});

describe('qSample and the epsilon loss', () => {
  it('x_t has mean sqrt(abar) x0 and variance 1 - abar', () => {
    const s = linearSchedule(1000);
    const g = new Generator(1);
    const n = 4000;
    for (const t of [50, 500, 900]) {
      const x0 = tensor(Array.from({ length: n }, () => [0.8])).reshape([n, 1]);
      const xt = arr(qSample(s, x0, Array(n).fill(t), randn([n, 1], { generator: g })));
      expect(Math.abs(meanOf(xt) - 0.8 * s.sqrtAlphasCumprod[t]!)).toBeLessThan(4 / Math.sqrt(n));
      expect(varOf(xt) / (1 - s.alphasCumprod[t]!)).toBeCloseTo(1, 1);
    }
  });

  it('qSample is exact per sample and predictX0 inverts it', () => {
    const s = linearSchedule(100);
    const x0 = tensor([[1, -1], [0.5, 2]]);
    const eps = tensor([[0.3, 0.1], [-2, 0.7]]);
    const xt = qSample(s, x0, [3, 70], eps);
    const a = [s.sqrtAlphasCumprod[3]!, s.sqrtAlphasCumprod[70]!];
    const b = [s.sqrtOneMinusAlphasCumprod[3]!, s.sqrtOneMinusAlphasCumprod[70]!];
    const want = [a[0]! * 1 + b[0]! * 0.3, a[0]! * -1 + b[0]! * 0.1, a[1]! * 0.5 + b[1]! * -2, a[1]! * 2 + b[1]! * 0.7];
    arr(xt).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));
    arr(predictX0(s, xt, [3, 70], eps)).forEach((v, i) => expect(v).toBeCloseTo([1, -1, 0.5, 2][i]!, 4));
  });

  it('L_simple is the mean squared error to the drawn noise', () => {
    const s = linearSchedule(100);
    const x0 = tensor([[0.5, -0.5, 1]]);
    const noise = tensor([[1, 2, -1]]);
    const zero = (x: Tensor) => x.mul(0);
    expect(epsilonLoss(zero, s, x0, { t: [40], noise }).item()).toBeCloseTo((1 + 4 + 1) / 3, 6);
    // an oracle that reads eps off x_t has zero loss
    const oracle = (x: Tensor, t: number[]) => x.sub(x0.mul(s.sqrtAlphasCumprod[t[0]!]!)).div(s.sqrtOneMinusAlphasCumprod[t[0]!]!);
    expect(epsilonLoss(oracle, s, x0, { t: [40], noise }).item()).toBeCloseTo(0, 5);
    // gradients reach the model
    const lin = new nn.Linear(3, 3, { generator: new Generator(0) });
    epsilonLoss((x) => lin.call(x), s, x0, { generator: new Generator(2) }).backward();
    expect(lin.weight.grad).not.toBeNull();
  });
});

describe('samplers', () => {
  const s = linearSchedule(1000);

  it('the DDPM step: eps form (eq. 11) equals the posterior-mean form, and matches a hand computation', () => {
    const xt = tensor([[0.4, -1.2]]);
    const eps = tensor([[0.1, -0.3]]);
    const z = tensor([[0.5, 0.25]]);
    const t = 200;
    const step = arr(ddpmStep(s, xt, t, eps, { noise: z }));
    const [a, b, ac, acp] = [s.alphas[t]!, s.betas[t]!, s.alphasCumprod[t]!, s.alphasCumprodPrev[t]!];
    const sig = Math.sqrt((b * (1 - acp)) / (1 - ac));
    const hand = [0.4, -1.2].map((x, i) => (x - (b / Math.sqrt(1 - ac)) * [0.1, -0.3][i]!) / Math.sqrt(a) + sig * [0.5, 0.25][i]!);
    step.forEach((v, i) => expect(v).toBeCloseTo(hand[i]!, 6));
    // posterior form through x0_hat (no clipping needed: clipDenoised with |x0| < 1 inputs)
    const xs = tensor([[0.1, -0.2]]);
    const e2 = tensor([[0.05, 0.02]]);
    const viaEps = arr(ddpmStep(s, xs, 10, e2, { noise: z }));
    const viaX0 = arr(ddpmStep(s, xs, 10, e2, { noise: z, clipDenoised: true }));
    viaEps.forEach((v, i) => expect(v).toBeCloseTo(viaX0[i]!, 5));
    // t = 0 adds no noise; fixedLarge uses beta_t
    expect(arr(ddpmStep(s, xt, 0, eps, { noise: z }))).toEqual(arr(ddpmStep(s, xt, 0, eps, { noise: z.mul(9) })));
    const large = arr(ddpmStep(s, xt, t, eps, { noise: z, variance: 'fixedLarge' }));
    expect(large[0]! - step[0]!).toBeCloseTo((Math.sqrt(b) - sig) * 0.5, 6);
  });

  it('DDIM with eta = 1 and consecutive steps is the DDPM step; eta = 0 is the closed form', () => {
    const xt = tensor([[0.7, -0.4, 1.5]]);
    const eps = tensor([[-0.2, 0.9, 0.3]]);
    const z = tensor([[1, -1, 0.5]]);
    const ddim = arr(ddimStep(s, xt, 321, 320, eps, { eta: 1, noise: z }));
    const ddpm = arr(ddpmStep(s, xt, 321, eps, { noise: z }));
    ddim.forEach((v, i) => expect(v).toBeCloseTo(ddpm[i]!, 5));
    const [ac, as] = [s.alphasCumprod[600]!, s.alphasCumprod[400]!];
    const det = arr(ddimStep(s, xt, 600, 400, eps, { eta: 0, noise: z.mul(100) }));
    const hand = [0.7, -0.4, 1.5].map((x, i) => {
      const e = [-0.2, 0.9, 0.3][i]!;
      const x0 = (x - Math.sqrt(1 - ac) * e) / Math.sqrt(ac);
      return Math.sqrt(as) * x0 + Math.sqrt(1 - as) * e;
    });
    det.forEach((v, i) => expect(v).toBeCloseTo(hand[i]!, 5));
    // s = -1 lands on x0_hat
    arr(ddimStep(s, xt, 5, -1, eps)).forEach((v, i) => expect(v).toBeCloseTo(arr(predictX0(s, xt, [5], eps))[i]!, 5));
  });

  it('DDIM timesteps are evenly spaced and descending', () => {
    expect(ddimTimesteps(1000, 10)).toEqual([900, 800, 700, 600, 500, 400, 300, 200, 100, 0]);
    expect(ddimTimesteps(10, 10)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(() => ddimTimesteps(10, 11)).toThrow(/steps/);
  });

  // For data N(mu, sd^2) the optimal eps is known in closed form: samplers fed with it must return that law.
  const mu = 0.5;
  const sd = 0.3;
  const gaussEps = (sched: typeof s) => (x: Tensor, t: number[]) => {
    const ac = sched.alphasCumprod[t[0]!]!;
    return x.sub(Math.sqrt(ac) * mu).mul(Math.sqrt(1 - ac) / (ac * sd * sd + 1 - ac));
  };

  it('DDIM (eta = 0) and DDPM with the exact eps of a Gaussian recover its mean and std', () => {
    const n = 2000;
    const ddim = arr(sample(gaussEps(s), s, [n, 1], { sampler: 'ddim', steps: 100, generator: new Generator(3) }));
    expect(Math.abs(meanOf(ddim) - mu)).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(varOf(ddim)) - sd)).toBeLessThan(0.03);
    const small = linearSchedule(200, { betaStart: 5e-4, betaEnd: 0.1 });
    const ddpm = arr(sample(gaussEps(small), small, [n, 1], { sampler: 'ddpm', generator: new Generator(4) }));
    expect(Math.abs(meanOf(ddpm) - mu)).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(varOf(ddpm)) - sd)).toBeLessThan(0.03);
  });

  it('sampling is deterministic: DDIM eta = 0 depends only on x_T, and every sampler replays under a seed', () => {
    const model = gaussEps(s);
    const xT = randn([4, 1, 2, 2], { generator: new Generator(9) });
    const a = arr(sample(model, s, [4, 1, 2, 2], { steps: 20, xT, generator: new Generator(1) }));
    const b = arr(sample(model, s, [4, 1, 2, 2], { steps: 20, xT, generator: new Generator(2) }));
    expect(a).toEqual(b);
    const c = arr(sample(model, s, [4, 1, 2, 2], { sampler: 'ddim', eta: 1, steps: 20, generator: new Generator(5) }));
    const d = arr(sample(model, s, [4, 1, 2, 2], { sampler: 'ddim', eta: 1, steps: 20, generator: new Generator(5) }));
    expect(c).toEqual(d);
    const e = arr(sample(model, s, [4, 1, 2, 2], { sampler: 'ddim', eta: 1, steps: 20, generator: new Generator(6) }));
    expect(e).not.toEqual(c);
  });
});

describe('EMA', () => {
  it('shadow <- d shadow + (1 - d) param, exactly; copyTo and withAveraged', () => {
    const lin = new nn.Linear(2, 2, { generator: new Generator(0) });
    const p0 = arr(lin.weight);
    const ema = new EMA(lin, { decay: 0.9 });
    lin.weight.assign(tensor([[1, 2], [3, 4]]));
    ema.update(lin);
    const want = p0.map((v, i) => 0.9 * v + 0.1 * [1, 2, 3, 4][i]!);
    arr(ema.shadow.get('weight')!).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));
    ema.update(lin);
    arr(ema.shadow.get('weight')!).forEach((v, i) => expect(v).toBeCloseTo(0.9 * want[i]! + 0.1 * [1, 2, 3, 4][i]!, 6));
    const inside = ema.withAveraged(lin, () => arr(lin.weight));
    inside.forEach((v, i) => expect(v).toBeCloseTo(arr(ema.shadow.get('weight')!)[i]!, 6));
    expect(arr(lin.weight)).toEqual([1, 2, 3, 4]);
    ema.copyTo(lin);
    expect(arr(lin.weight)).toEqual(arr(ema.shadow.get('weight')!));
  });

  it('warm-up decay is min(decay, (1 + n) / (10 + n))', () => {
    const lin = new nn.Linear(1, 1, { generator: new Generator(0) });
    const ema = new EMA(lin, { decay: 0.999, warmup: true });
    expect(ema.currentDecay()).toBeCloseTo(0.1, 12);
    ema.update(lin);
    expect(ema.currentDecay()).toBeCloseTo(2 / 11, 12);
    expect(() => ema.update(new nn.Linear(2, 1))).toThrow(/shape/);
  });
});

describe('classifier-free guidance', () => {
  it('eps_u + s (eps_c - eps_u), one doubled-batch model call', () => {
    const c = tensor([1, 2]);
    const u = tensor([0.5, -1]);
    expect(arr(guidedEpsilon(c, u, 3))).toEqual([0.5 + 3 * 0.5, -1 + 3 * 3]);
    expect(arr(guidedEpsilon(c, u, 1))).toEqual([1, 2]);
    expect(arr(guidedEpsilon(c, u, 0))).toEqual([0.5, -1]);
    let calls = 0;
    // toy conditional model: eps = x * (y + 1)
    const model = (x: Tensor, _t: number[], y?: Tensor | null) => {
      calls++;
      return x.mul(cast(y!, 'float32').add(1).reshape([x.shape[0]!, 1]));
    };
    const guided = classifierFreeGuidance(model, { scale: 2, nullLabel: 0 });
    const out = arr(guided(tensor([[1, 1], [2, 2]]), [5, 5], tensor([3, 1], { dtype: 'int32' })));
    // cond (y+1) = 4, 2; uncond = 1: 1 + 2 (4 - 1) = 7 ; 1 + 2 (2 - 1) = 3
    expect(out).toEqual([7, 7, 6, 6]);
    expect(calls).toBe(1);
  });

  it('dropLabels replaces labels with the null label at rate p', () => {
    const y = tensor(Array.from({ length: 2000 }, (_, i) => i % 10), { dtype: 'int32' });
    const g = new Generator(0);
    expect(Array.from(dropLabels(y, 0, 10, g).dataSync())).toEqual(Array.from(y.dataSync()));
    expect(new Set(dropLabels(y, 1, 10, g).dataSync()).size).toBe(1);
    const frac = Array.from(dropLabels(y, 0.2, 10, g).dataSync()).filter((v) => v === 10).length / 2000;
    expect(Math.abs(frac - 0.2)).toBeLessThan(0.03);
  });
});
