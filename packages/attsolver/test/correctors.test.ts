import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Generator, nn, noGrad, rand, randn, scope, tensor, type Tensor } from '@methodzoo/core';
import {
  addNoise,
  AttSolverCorrector,
  cosineLr,
  elasticPendulum,
  HybridSolver,
  NeurVecCorrector,
  oneStepLoss,
  Rational,
  rk4,
  rolloutLoss,
  spectralNorm,
  subsampleTrajectories,
  trainOneStep,
  windowDataset,
} from '../src/index.js';

const f64 = (v: number[][]) => tensor(v, { dtype: 'float64' });
const vals = (t: Tensor) => Array.from(t.dataSync() as ArrayLike<number>);
const pend = elasticPendulum();

/** The golden script's deterministic weights: Linear k gets W[i, j] = 0.3 sin(k + 1 + 0.7 (i in + j)), b[i] = 0.1 cos(k + 1 + i). */
function fill(lin: nn.Linear, k: number): void {
  const [o, i] = lin.weight.shape as [number, number];
  const w: number[] = [];
  for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) w.push(0.3 * Math.sin(k + 1 + 0.7 * (a * i + b)));
  lin.weight.assign(tensor(w, { dtype: 'float64' }).reshape([o, i]));
  lin.bias!.assign(tensor(Array.from({ length: o }, (_, a) => 0.1 * Math.cos(k + 1 + a)), { dtype: 'float64' }));
}

function goldenCorrector(combine: 'add' | 'mul' | 'residualMul'): AttSolverCorrector {
  const c = new AttSolverCorrector(4, { combine, input: 'correction', networkHidden: 8, hidden: 16, dtype: 'float64' });
  const net = c.network as NeurVecCorrector;
  [net.fc1, net.fc2, c.attention.fc1, c.attention.fc2].forEach(fill);
  return c;
}

describe('Rational activation', () => {
  it('has NeurVec\'s initial values and the identity r(x) - r(-x) = x', () => {
    const r = new Rational(undefined, { dtype: 'float64' });
    const x = tensor([0, 1, -1, 0.5, 2], { dtype: 'float64' });
    const y = vals(r.call(x) as Tensor);
    [0.0218, 0.978126, -0.021874, 0.513653, 1.608109].forEach((v, i) => expect(y[i]).toBeCloseTo(v, 5));
    const z = randn([50], { generator: new Generator(0), dtype: 'float64' }).mul(3);
    const d = vals((r.call(z) as Tensor).sub(r.call(z.neg()) as Tensor).sub(z));
    for (const e of d) expect(Math.abs(e)).toBeLessThan(1e-12);
  });

  it('gradients with respect to the 7 coefficients are x^i / Q(x) and -P(x) x^j / Q(x)^2', () => {
    const r = new Rational(undefined, { dtype: 'float64' });
    const x = 0.7;
    (r.call(tensor([x], { dtype: 'float64' })) as Tensor).sum().backward();
    const P = 0.0218 + 0.5 * x + 1.5957 * x * x + 1.1915 * x ** 3;
    const Q = 1 + 2.383 * x * x;
    vals(r.numerator.grad!).forEach((g, i) => expect(g).toBeCloseTo(x ** i / Q, 12));
    vals(r.denominator.grad!).forEach((g, j) => expect(g).toBeCloseTo((-P * x ** j) / (Q * Q), 12));
  });
});

describe('hybrid step', () => {
  it('matches PyTorch golden values for RK4, NeurVec and the three AttSolver combinations', () => {
    const golden = JSON.parse(readFileSync(new URL('./golden/attsolver_golden.json', import.meta.url), 'utf8')) as Record<string, number[][]>;
    const u = f64(golden.u!);
    const cases: [string, HybridSolver][] = [
      ['rk4', new HybridSolver({ F: pend.F, dt: 0.1 })],
      ['neurvec', new HybridSolver({ F: pend.F, dt: 0.1, corrector: goldenCorrector('add').network as NeurVecCorrector })],
      ['attAdd', new HybridSolver({ F: pend.F, dt: 0.1, corrector: goldenCorrector('add') })],
      ['attMul', new HybridSolver({ F: pend.F, dt: 0.1, corrector: goldenCorrector('mul') })],
      ['attResidualMul', new HybridSolver({ F: pend.F, dt: 0.1, corrector: goldenCorrector('residualMul') })],
    ];
    for (const [name, solver] of cases) {
      const got = vals(solver.step(u));
      golden[name]!.flat().forEach((v, i) => expect(Math.abs(got[i]! - v)).toBeLessThan(1e-12));
    }
  });

  it('with the corrector off the hybrid step equals the base step bit for bit', () => {
    const u = randn([6, 4], { generator: new Generator(1) }).add(tensor([0, 10, 0, 0]));
    const plain = vals(u.add(rk4(pend.F, u, 0.1)));
    expect(vals(new HybridSolver({ F: pend.F, dt: 0.1, corrector: null }).step(u))).toEqual(plain);
  });

  it('with the attention off AttSolver equals NeurVec with the same N weights', () => {
    const g = new Generator(2);
    const nv = new NeurVecCorrector(4, { hidden: 32, generator: g });
    const u = randn([5, 4], { generator: g }).add(tensor([0, 10, 0, 0]));
    const S = rk4(pend.F, u, 0.1);
    const ref = vals(nv.correct(u));
    // tanh gate with zero output layer: A = 0 exactly, so N + A = N and N ⊙ (1 + A) = N
    for (const combine of ['add', 'residualMul'] as const) {
      const att = new AttSolverCorrector(4, { combine, gate: 'tanh', network: nv, generator: g });
      noGrad(() => {
        att.attention.fc2.weight.assign(att.attention.fc2.weight.mul(0));
        att.attention.fc2.bias!.assign(att.attention.fc2.bias!.mul(0));
      });
      expect(vals(att.correct(u, S))).toEqual(ref);
    }
  });

  it('rollout: [steps + 1, B, d], out[0] = u0, coarse = k equals k hybrid steps of dt / k', () => {
    const g = new Generator(3);
    const solver = new HybridSolver({ F: pend.F, dt: 0.1, corrector: new AttSolverCorrector(4, { combine: 'mul', networkHidden: 16, generator: g }) });
    const u0 = rand([3, 4], { generator: g }).add(tensor([0, 9.5, 0, 0]));
    const out = noGrad(() => solver.rollout(u0, 4, { coarse: 2 }));
    expect(out.shape).toEqual([5, 3, 4]);
    expect(vals(out.narrow(0, 0, 1))).toEqual(vals(u0));
    let u = u0;
    for (let i = 0; i < 4; i++) u = solver.step(solver.step(u, { dt: 0.05 }), { dt: 0.05 });
    expect(vals(out.narrow(0, 4, 1))).toEqual(vals(u));
  });
});

describe('Lipschitz bound', () => {
  it('holds on random input pairs and is at most the Frobenius bound', () => {
    const g = new Generator(4);
    for (const gate of ['sigmoid', 'tanh'] as const) {
      const c = new AttSolverCorrector(6, { gate, hidden: 24, networkHidden: 8, generator: g });
      const L = c.lipschitzBound();
      expect(L).toBeLessThanOrEqual(c.lipschitzBound('frobenius') * (1 + 1e-12));
      const x = randn([200, 6], { generator: g }).mul(3);
      const y = x.add(randn([200, 6], { generator: g }).mul(0.5));
      const ax = vals(c.attention.call(x) as Tensor);
      const ay = vals(c.attention.call(y) as Tensor);
      const xv = vals(x);
      const yv = vals(y);
      let worst = 0;
      for (let b = 0; b < 200; b++) {
        let num = 0;
        let den = 0;
        for (let k = 0; k < 6; k++) {
          num += (ax[b * 6 + k]! - ay[b * 6 + k]!) ** 2;
          den += (xv[b * 6 + k]! - yv[b * 6 + k]!) ** 2;
        }
        worst = Math.max(worst, Math.sqrt(num / den));
      }
      expect(worst).toBeGreaterThan(0);
      expect(worst).toBeLessThanOrEqual(L);
    }
  });

  it('spectralNorm equals the largest singular value of a known matrix', () => {
    // [[3, 0], [4, 5]] has singular values sqrt(45) and sqrt(5)
    expect(spectralNorm(tensor([[3, 0], [4, 5]]))).toBeCloseTo(Math.sqrt(45), 10);
  });
});

describe('training utilities', () => {
  it('windows, one-step loss (= rollout loss at T_train = 2) and finite-difference gradients through a rollout', () => {
    const traj = tensor(Array.from({ length: 5 * 2 * 4 }, (_, i) => (i % 4 === 1 ? 10 : 0) + 0.01 * i), { dtype: 'float64' }).reshape([5, 2, 4]);
    const w = windowDataset(traj, { window: 2 });
    expect(w.shape).toEqual([8, 2, 4]);
    // window 3 (offset 1, trajectory 1) holds states t = 1, 2 of trajectory 1
    expect(vals(w.narrow(0, 3, 1))).toEqual([...vals(traj.narrow(0, 1, 1).narrow(1, 1, 1)), ...vals(traj.narrow(0, 2, 1).narrow(1, 1, 1))]);
    const solver = new HybridSolver({ F: pend.F, dt: 0.1, corrector: goldenCorrector('add') });
    const u0 = w.narrow(1, 0, 1).reshape([8, 4]);
    const u1 = w.narrow(1, 1, 1).reshape([8, 4]);
    expect(rolloutLoss(solver, w).item()).toBeCloseTo(oneStepLoss(solver, u0, u1).item(), 14);

    // a 3-step rollout loss: analytic vs central differences on one N weight and one attention weight
    const w3 = windowDataset(traj, { window: 3 });
    const att = solver.corrector as AttSolverCorrector;
    const net = att.network as NeurVecCorrector;
    const loss = () => rolloutLoss(solver, w3);
    const l = loss();
    l.backward();
    for (const p of [net.fc1.weight, att.attention.fc1.weight, (net.act as Rational).denominator]) {
      // the entry with the largest gradient (a ReLU unit of the attention may be inactive on this data)
      const gv = vals(p.grad!);
      const idx = gv.reduce((best, g, i) => (Math.abs(g) > Math.abs(gv[best]!) ? i : best), 0);
      const analytic = gv[idx]!;
      const flat = vals(p);
      const at = (v: number) => {
        const c = flat.slice();
        c[idx] = v;
        noGrad(() => p.assign(tensor(c, { dtype: 'float64' }).reshape(p.shape)));
        return scope(() => noGrad(() => loss().item()));
      };
      const h = 1e-6;
      const numeric = (at(flat[idx]! + h) - at(flat[idx]! - h)) / (2 * h);
      at(flat[idx]!);
      expect(Math.abs(analytic - numeric)).toBeLessThan(1e-6 * (1 + Math.abs(numeric)));
      expect(Math.abs(analytic), `gradient ${idx}`).toBeGreaterThan(0);
    }
  });

  it('cosineLr decays per iteration from lr0 to 0', () => {
    expect(cosineLr(0, 100, 1e-3)).toBe(1e-3);
    expect(cosineLr(50, 100, 1e-3)).toBeCloseTo(5e-4, 15);
    expect(cosineLr(25, 100, 1e-3)).toBeCloseTo(0.5e-3 * (1 + Math.SQRT1_2), 15);
    expect(cosineLr(100, 100, 1e-3)).toBe(0);
  });

  it('subsampling and noise are seeded and have the requested size and scale', () => {
    const traj = randn([50, 40, 4], { generator: new Generator(0), dtype: 'float64' }).mul(tensor([1, 2, 3, 4], { dtype: 'float64' }));
    const a = subsampleTrajectories(traj, 0.25, new Generator(9));
    const b = subsampleTrajectories(traj, 0.25, new Generator(9));
    expect(a.shape).toEqual([50, 10, 4]);
    expect(vals(a)).toEqual(vals(b));
    const n1 = addNoise(traj, 0.1, new Generator(1));
    expect(vals(n1)).toEqual(vals(addNoise(traj, 0.1, new Generator(1))));
    const diff = n1.sub(traj).reshape([-1, 4]);
    const std = vals(diff.std(0));
    const ref = vals(traj.reshape([-1, 4]).std(0));
    std.forEach((s, k) => expect(s / (0.1 * ref[k]!)).toBeCloseTo(1, 1));
  });

  it('training is deterministic under a seed and lowers the one-step loss', () => {
    const run = () => {
      const g = new Generator(7);
      const u0 = rand([128, 4], { generator: new Generator(0) }).add(tensor([0, 9.5, 0, 0]));
      const u1 = noGrad(() => u0.add(rk4(pend.F, u0, 0.1)).add(0.01));
      const solver = new HybridSolver({ F: pend.F, dt: 0.1, corrector: new AttSolverCorrector(4, { combine: 'mul', networkHidden: 16, generator: g }) });
      return trainOneStep(solver, u0, u1, { epochs: 6, batchSize: 32, lr: 1e-2, generator: g });
    };
    const a = run();
    expect(run()).toEqual(a);
    expect(a.at(-1)!).toBeLessThan(a[0]! / 2);
  });

  it('lossScale (NeurVec pendulum x 1e6) reports unscaled losses and only acts through Adam eps', () => {
    const run = (lossScale: number) => {
      const g = new Generator(3);
      const u0 = rand([64, 4], { generator: new Generator(0), dtype: 'float64' }).add(tensor([0, 9.5, 0, 0], { dtype: 'float64' }));
      const u1 = noGrad(() => u0.add(rk4(pend.F, u0, 0.1)).add(1e-3));
      const corrector = new NeurVecCorrector(4, { hidden: 8, generator: g, dtype: 'float64' });
      const solver = new HybridSolver({ F: pend.F, dt: 0.1, corrector });
      return trainOneStep(solver, u0, u1, { epochs: 3, batchSize: 16, lr: 1e-3, generator: g, lossScale });
    };
    const plain = run(1);
    const scaled = run(1e6);
    // Adam's step m / (sqrt(v) + eps) is scale-free up to eps = 1e-8; the gradients here are ~1e-2
    scaled.forEach((l, e) => expect(Math.abs(l - plain[e]!) / plain[e]!).toBeLessThan(1e-4));
    expect(scaled).not.toEqual(plain);
    const u = tensor([[0, 10, 0, 0]], { dtype: 'float64' });
    const solver = new HybridSolver({ F: pend.F, dt: 0.1, corrector: new NeurVecCorrector(4, { hidden: 4, dtype: 'float64' }) });
    expect(() => trainOneStep(solver, u, u, { epochs: 1, batchSize: 1, generator: new Generator(0), lossScale: 0 })).toThrow(/lossScale must be a positive finite number, got 0/);
  });
});
