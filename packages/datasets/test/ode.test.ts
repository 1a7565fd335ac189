import { Generator } from '@methodzoo/core';
import { describe, expect, it } from 'vitest';
import { dampedOscillator, lorenz, odeSystem, odeTrajectories, oscillatorEnergy, rk4, vanDerPol } from '../src/index.js';

/** Exact underdamped solution of x'' + 2 zeta omega x' + omega^2 x = 0 from (x0, v0). */
function exactOscillator(t: number, x0: number, v0: number, omega: number, zeta: number): [number, number] {
  const wd = omega * Math.sqrt(1 - zeta * zeta);
  const a = zeta * omega;
  const B = (v0 + a * x0) / wd;
  const e = Math.exp(-a * t);
  const c = Math.cos(wd * t);
  const s = Math.sin(wd * t);
  return [e * (x0 * c + B * s), e * (-a * (x0 * c + B * s) + (-x0 * wd * s + B * wd * c))];
}

describe('odeTrajectories', () => {
  it('returns [T, B, d] tensors with the time grid', () => {
    const r = odeTrajectories(lorenz(), { batch: 4, steps: 50, dt: 0.02, seed: 1 });
    expect(r.t.shape).toEqual([50]);
    expect(r.y.shape).toEqual([50, 4, 3]);
    expect(r.clean.shape).toEqual([50, 4, 3]);
    expect(r.y0.shape).toEqual([4, 3]);
    expect(r.y.dtype).toBe('float32');
    const t = r.t.dataSync();
    expect(t[0]).toBe(0);
    expect(t[49]).toBeCloseTo(0.98, 6);
    // the first saved point is the initial state
    expect(Array.from(r.y.dataSync().subarray(0, 12))).toEqual(Array.from(r.y0.dataSync()));
    expect(odeTrajectories(vanDerPol(), { steps: 3, dt: 0.1, dtype: 'float64' }).y.dtype).toBe('float64');
  });

  it('is seeded: same seed same data, different seed different data', () => {
    const a = odeTrajectories(vanDerPol(), { batch: 3, steps: 20, dt: 0.1, seed: 5, noise: 0.1 }).y.dataSync();
    const b = odeTrajectories(vanDerPol(), { batch: 3, steps: 20, dt: 0.1, generator: new Generator(5), noise: 0.1 }).y.dataSync();
    const c = odeTrajectories(vanDerPol(), { batch: 3, steps: 20, dt: 0.1, seed: 6, noise: 0.1 }).y.dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('adds observation noise of the requested size to y only', () => {
    const r = odeTrajectories(dampedOscillator(), { batch: 50, steps: 40, dt: 0.1, noise: 0.05, seed: 2 });
    const y = r.y.dataSync();
    const clean = r.clean.dataSync();
    let s2 = 0;
    for (let i = 0; i < y.length; i++) s2 += (y[i]! - clean[i]!) ** 2;
    expect(Math.sqrt(s2 / y.length)).toBeCloseTo(0.05, 2);
  });

  it('Lorenz stays on the attractor after burn-in and visits both wings', () => {
    const r = odeTrajectories(lorenz(), { batch: 8, steps: 1500, dt: 0.01, substeps: 4, burnIn: 500, seed: 3 });
    const y = r.clean.dataSync();
    let minZ = Infinity;
    let maxZ = -Infinity;
    let maxAbsX = 0;
    let maxAbsY = 0;
    let neg = 0;
    for (let i = 0; i < y.length; i += 3) {
      maxAbsX = Math.max(maxAbsX, Math.abs(y[i]!));
      maxAbsY = Math.max(maxAbsY, Math.abs(y[i + 1]!));
      minZ = Math.min(minZ, y[i + 2]!);
      maxZ = Math.max(maxZ, y[i + 2]!);
      if (y[i]! < 0) neg++;
    }
    // the classic attractor spans about |x| < 20, |y| < 27, 1 < z < 48
    expect(maxAbsX).toBeLessThan(21);
    expect(maxAbsY).toBeLessThan(29);
    expect(minZ).toBeGreaterThan(0);
    expect(maxZ).toBeLessThan(50);
    expect(maxAbsX).toBeGreaterThan(15);
    const frac = neg / (y.length / 3);
    expect(frac).toBeGreaterThan(0.2);
    expect(frac).toBeLessThan(0.8);
  });

  it('Van der Pol (mu = 1) settles on its limit cycle of amplitude about 2.01', () => {
    const r = odeTrajectories(vanDerPol({ mu: 1 }), { batch: 6, steps: 700, dt: 0.01, burnIn: 3000, seed: 4, dtype: 'float64' });
    const y = r.clean.dataSync();
    for (let b = 0; b < 6; b++) {
      let amp = 0;
      for (let s = 0; s < 700; s++) amp = Math.max(amp, Math.abs(y[(s * 6 + b) * 2]!));
      expect(amp).toBeCloseTo(2.0086, 2);
    }
  });

  it('the damped oscillator loses energy monotonically and matches the exact solution', () => {
    const omega = 1.5;
    const zeta = 0.1;
    const r = odeTrajectories(dampedOscillator({ omega, zeta }), { batch: 5, steps: 201, dt: 0.1, seed: 6, dtype: 'float64' });
    const y = r.clean.dataSync();
    const e = oscillatorEnergy(y, omega);
    for (let s = 1; s < 201; s++) for (let b = 0; b < 5; b++) expect(e[s * 5 + b]!).toBeLessThanOrEqual(e[(s - 1) * 5 + b]! + 1e-12);
    for (let b = 0; b < 5; b++) expect(e[200 * 5 + b]! / e[b]!).toBeLessThan(0.01);
    const [x0, v0] = [y[0]!, y[1]!];
    const [xe, ve] = exactOscillator(20, x0, v0, omega, zeta);
    expect(y[200 * 10]).toBeCloseTo(xe, 8);
    expect(y[200 * 10 + 1]).toBeCloseTo(ve, 8);
  });
});

describe('rk4', () => {
  it('converges with order 4: halving the step divides the error by about 16', () => {
    const omega = 2;
    const zeta = 0.2;
    const sys = dampedOscillator({ omega, zeta });
    const y0 = Float64Array.of(1, 0.5);
    const [xe, ve] = exactOscillator(5, 1, 0.5, omega, zeta);
    const err = (h: number) => {
      const { y } = rk4(sys, y0, { dt: h, steps: 2, substeps: Math.round(5 / h) });
      return Math.hypot(y[2]! - xe, y[3]! - ve);
    };
    const errors = [0.1, 0.05, 0.025].map(err);
    const orders = [Math.log2(errors[0]! / errors[1]!), Math.log2(errors[1]! / errors[2]!)];
    for (const p of orders) {
      expect(p).toBeGreaterThan(3.8);
      expect(p).toBeLessThan(4.2);
    }
  });

  it('integrates a user system given as f(t, u), including time-dependent ones', () => {
    // u' = cos(t) u has u(t) = u0 exp(sin t)
    const sys = odeSystem({ dim: 1, f: (t, u) => [Math.cos(t) * u[0]!], sampleInitial: () => Float64Array.of(2) });
    const r = odeTrajectories(sys, { batch: 2, steps: 31, dt: 0.1, dtype: 'float64' });
    const y = r.clean.dataSync();
    for (const s of [0, 10, 30]) expect(y[s * 2 + 1]).toBeCloseTo(2 * Math.exp(Math.sin(s * 0.1)), 9);
    const given = odeTrajectories(sys, { y0: [[1], [3]], steps: 11, dt: 0.1, dtype: 'float64' });
    expect(given.y0.tolist()).toEqual([[1], [3]]);
    expect(given.clean.dataSync()[21]).toBeCloseTo(3 * Math.exp(Math.sin(1)), 9);
  });

  it('explains bad arguments and blow-ups', () => {
    const sys = lorenz();
    expect(() => rk4(sys, Float64Array.of(1, 2, 3), { dt: 0, steps: 2 })).toThrow('rk4: dt must be a positive finite number, got 0');
    expect(() => rk4(sys, Float64Array.of(1, 2), { dt: 0.1, steps: 2 })).toThrow('y0 has 2 values, expected a positive multiple of the state dimension 3');
    const blow = odeSystem({ dim: 1, f: (_t, u) => [u[0]! * u[0]!] });
    expect(() => rk4(blow, Float64Array.of(10), { dt: 0.5, steps: 10 })).toThrow(/rk4: the solution became non-finite at t = .* \(trajectory 0\); reduce dt/);
    expect(() => odeSystem({ dim: 2, f: () => [1] }).f(0, new Float64Array(2), new Float64Array(2), 1)).toThrow('odeSystem: f returned 1 values for a state of dimension 2');
    expect(() => odeTrajectories(sys, { y0: [[1, 2, 3]], batch: 2, steps: 2, dt: 0.1 })).toThrow('batch is 2 but y0 holds 1 states');
  });
});
