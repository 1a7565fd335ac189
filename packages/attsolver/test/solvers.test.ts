import { describe, expect, it } from 'vitest';
import { cat, Generator, randn, scope, tensor, type Tensor } from '@methodzoo/core';
import {
  butcherStepper,
  elasticPendulum,
  energyDrift,
  euler,
  EULER_TABLEAU,
  explosionTime,
  hamiltonianSystem,
  HEUN_TABLEAU,
  HybridSolver,
  integrate,
  lorenz,
  referenceTrajectories,
  rk4,
  RK4_TABLEAU,
  rolloutMse,
  speedupAtEqualError,
  springChain,
  vanDerPol,
} from '../src/index.js';

const f64 = (v: number[][]) => tensor(v, { dtype: 'float64' });
const vals = (t: Tensor) => Array.from(t.dataSync() as ArrayLike<number>);
const lambda = -0.7;
const linear = (u: Tensor) => u.mul(lambda);
const oscillator = (u: Tensor) => cat([u.narrow(1, 1, 1), u.narrow(1, 0, 1).neg()], 1);

describe('base steppers', () => {
  it('Euler and RK4 on du/dt = lambda u equal the closed-form amplification factors', () => {
    const u = f64([[1.5], [-2]]);
    const dt = 0.3;
    const z = lambda * dt;
    const eu = vals(u.add(euler(linear, u, dt)));
    const rk = vals(u.add(rk4(linear, u, dt)));
    const r4 = 1 + z + z * z / 2 + z ** 3 / 6 + z ** 4 / 24;
    expect(eu[0]).toBeCloseTo(1.5 * (1 + z), 15);
    expect(eu[1]).toBeCloseTo(-2 * (1 + z), 15);
    expect(rk[0]).toBeCloseTo(1.5 * r4, 15);
    expect(rk[1]).toBeCloseTo(-2 * r4, 15);
  });

  it('global errors on the harmonic oscillator converge with order about 1 (Euler), 2 (Heun) and 4 (RK4)', () => {
    const u0 = f64([[1, 0]]);
    const errAt = (method: 'euler' | 'rk4' | typeof HEUN_TABLEAU, n: number) => {
      const out = integrate(oscillator, u0, { dt: 1 / n, steps: n, method });
      const last = vals(out.narrow(0, n, 1));
      return Math.hypot(last[0]! - Math.cos(1), last[1]! + Math.sin(1));
    };
    const order = (m: 'euler' | 'rk4' | typeof HEUN_TABLEAU, n: number) => Math.log2(errAt(m, n) / errAt(m, 2 * n));
    expect(order('euler', 200)).toBeCloseTo(1, 1);
    expect(order(HEUN_TABLEAU, 100)).toBeCloseTo(2, 1);
    expect(order('rk4', 20)).toBeCloseTo(4, 1);
  });

  it('the Butcher tableau of RK4 reproduces rk4, Euler\'s reproduces euler', () => {
    const u = randn([5, 4], { generator: new Generator(3), dtype: 'float64' }).add(f64([[0, 10, 0, 0]]));
    const F = elasticPendulum().F;
    const a = vals(rk4(F, u, 0.1));
    const b = vals(butcherStepper(RK4_TABLEAU)(F, u, 0.1));
    a.forEach((x, i) => expect(Math.abs(x - b[i]!)).toBeLessThan(1e-14));
    expect(vals(butcherStepper(EULER_TABLEAU)(F, u, 0.1))).toEqual(vals(euler(F, u, 0.1)));
    expect(() => butcherStepper({ a: [[], [0.5, 0.5]], b: [0.5, 0.5] })).toThrow(/a\[1\] must have at most 1/);
  });

  it('integrate returns [steps + 1, B, d] with out[0] = u0 and coarse = k equal to k steps of dt / k', () => {
    const u0 = f64([[1, 0], [0.5, 0.2]]);
    const out = integrate(oscillator, u0, { dt: 0.2, steps: 3, coarse: 4 });
    expect(out.shape).toEqual([4, 2, 2]);
    expect(vals(out.narrow(0, 0, 1))).toEqual(vals(u0));
    const fine = integrate(oscillator, u0, { dt: 0.05, steps: 12 });
    expect(vals(out.narrow(0, 3, 1))).toEqual(vals(fine.narrow(0, 12, 1)));
    expect(() => integrate(oscillator, u0, { dt: 0.1, steps: 2, coarse: 0 })).toThrow(/coarse must be a positive integer/);
  });
});

describe('systems', () => {
  it('the float64 reference conserves the elastic-pendulum energy and the spring-chain Hamiltonian', () => {
    const pend = elasticPendulum();
    const u0 = f64([[0.5, 10.5, 0.2, -0.5], [-0.3, 9.2, -0.4, 0.8]]);
    const traj = referenceTrajectories(pend, u0, { dt: 0.1, steps: 300, coarse: 200 });
    expect(traj.shape).toEqual([301, 2, 4]);
    expect(Math.max(...energyDrift(pend.energy!, traj))).toBeLessThan(1e-8);
    // plain RK4 at dt = 0.1 drifts by many orders of magnitude more
    const coarse = integrate(pend.F, u0, { dt: 0.1, steps: 300 });
    expect(Math.max(...energyDrift(pend.energy!, coarse))).toBeGreaterThan(1e-5);
    const chain = springChain({ k: [1, 1.5, 0.8, 1.2, 1, 0.9], m: [1, 2, 1.5, 1, 0.7] });
    const c0 = randn([3, 10], { generator: new Generator(1), dtype: 'float64' });
    const ct = referenceTrajectories(chain, c0, { dt: 0.2, steps: 100, coarse: 100 });
    expect(Math.max(...energyDrift(chain.energy!, ct))).toBeLessThan(1e-9);
  });

  it('the float64 array path and the tensor path of F agree for every built-in', () => {
    const g = new Generator(5);
    for (const sys of [elasticPendulum(), lorenz(), vanDerPol({ mu: 2 }), springChain({ k: [1, 2, 3, 4], m: [1, 0.5, 2] })]) {
      const u = randn([4, sys.dim], { generator: g, dtype: 'float64' }).add(sys.name === 'elastic-pendulum' ? 10 : 0);
      const out = new Float64Array(4 * sys.dim);
      sys.f!(0, Float64Array.from(u.dataSync() as ArrayLike<number>), out, 4);
      const t = vals(sys.F(u));
      t.forEach((x, i) => expect(Math.abs(x - out[i]!)).toBeLessThan(1e-12 * (1 + Math.abs(x))));
      // the tensor path of the reference (no `f`) equals the array path
      const a = referenceTrajectories(sys, u, { dt: 0.01, steps: 3, coarse: 2 });
      const b = referenceTrajectories({ ...sys, f: undefined }, u, { dt: 0.01, steps: 3, coarse: 2 });
      vals(a).forEach((x, i) => expect(Math.abs(x - vals(b)[i]!)).toBeLessThan(1e-12 * (1 + Math.abs(x))));
    }
  });

  it('the spring chain F matches dq/dt = dH/dp, dp/dt = -dH/dq by autograd on H', () => {
    const chain = springChain({ k: [1, 1.5, 0.8, 1.2], m: [1, 2, 1.5] });
    const ham = hamiltonianSystem(chain.energy!, 6, 'pq');
    const u = randn([3, 6], { generator: new Generator(2), dtype: 'float64' });
    const a = vals(chain.F(u));
    const b = vals(ham.F(u));
    a.forEach((x, i) => expect(x).toBeCloseTo(b[i]!, 12));
  });

  it('a state of the wrong dimension raises an error that names d', () => {
    expect(() => elasticPendulum().F(f64([[1, 2, 3]]))).toThrow(/\[B, 4\] \(d = 4\)/);
    expect(() => new HybridSolver({ F: lorenz().F, dt: 0.1 }).rollout(f64([[1, 2]]), 2)).toThrow(/d = 3/);
  });
});

describe('metrics', () => {
  it('explosionTime reports the first non-finite or over-threshold step per trajectory, -1 if none', () => {
    // [T = 4, B = 3, d = 1]
    const t = tensor([[0], [0], [0], [1], [2e6], [0], [Infinity], [5], [0], [NaN], [5], [0]], { dtype: 'float64' }).reshape([4, 3, 1]);
    expect(explosionTime(t, 1e6)).toEqual([2, 1, -1]);
  });

  it('a plain Euler rollout that blows up does not throw; the blow-up is detected', () => {
    // Euler on an undamped oscillator grows by sqrt(1 + dt^2) per step; at dt = 3 it overflows quickly
    const solver = new HybridSolver({ F: oscillator, base: 'euler', dt: 3 });
    const out = scope(() => solver.rollout(f64([[1, 0]]), 800));
    const ex = explosionTime(out, 1e100);
    expect(ex[0]).toBeGreaterThan(0);
    expect(ex[0]).toBeLessThan(800);
    const mse = rolloutMse(out, out.mul(0));
    expect(mse.at(-1)).toBe(Infinity);
    expect(mse[0]).toBe(1 / 2);
  });

  it('rolloutMse and speedupAtEqualError compute their definitions', () => {
    const a = tensor([1, 2, 3, 4], { dtype: 'float64' }).reshape([2, 1, 2]);
    const b = tensor([1, 0, 3, 1], { dtype: 'float64' }).reshape([2, 1, 2]);
    expect(rolloutMse(a, b)).toEqual([2, 4.5]);
    // plain: error 1e-2 at 1 s, 1e-4 at 4 s; hybrid reaches 1e-3 in 0.5 s -> plain needs 2 s (log-log)
    expect(speedupAtEqualError({ error: 1e-3, seconds: 0.5 }, [{ error: 1e-2, seconds: 1 }, { error: 1e-4, seconds: 4 }])).toBeCloseTo(4, 10);
    expect(speedupAtEqualError({ error: 1e-6, seconds: 0.5 }, [{ error: 1e-2, seconds: 1 }])).toBeNull();
  });
});
