import { describe, expect, it } from 'vitest';
import type { ProgressReporter } from '@methodzoo/core';
import { repro, reproSpringChain } from '../src/repro.js';

const quiet: ProgressReporter = { task: () => ({ tick: () => {}, done: () => {} }), log: () => {} };

describe('repro', () => {
  it('is the ReproEntry the CLI loads as attsolver', () => {
    expect(repro.name).toBe('attsolver');
    expect(repro.paper.arxiv).toBe('2302.10184');
  });

  it('draws the same spring chain every time (k ~ U(1, 2), m ~ U(0.5, 1.5))', () => {
    const a = reproSpringChain();
    expect(a.k).toEqual(reproSpringChain().k);
    expect(a.k).toHaveLength(6);
    expect(a.m).toHaveLength(5);
    expect(a.k.every((k) => k >= 1 && k < 2) && a.m.every((m) => m >= 0.5 && m < 1.5)).toBe(true);
  });

  it('quick run: two systems x four models x two data regimes, consistent metrics and claim', async () => {
    const r = await repro.run({ quick: true, seed: 0, outDir: 'reports/attsolver' }, quiet);
    const models = (sys: string, plain: string) => ['full', '10%+noise'].flatMap((d) => [plain, 'neurvec', 'attAdd', 'attMul'].map((m) => `${sys}/${d}/${m}`));
    expect(r.table.rows.map((row) => `${row[0]}/${row[1]}/${row[2]}`)).toEqual([...models('pendulum RK4', 'rk4'), ...models('spring Euler', 'euler')]);
    const m = r.metrics as Record<string, number[]>;
    // plain RK4 has nothing to train: the same rollout error in both regimes, and a small one
    expect(m['meanMse/pendulum/full/rk4']).toEqual(m['meanMse/pendulum/10%+noise/rk4']);
    expect(m['meanMse/pendulum/full/rk4']![0]).toBeGreaterThan(1e-4);
    expect(m['meanMse/pendulum/full/rk4']![0]).toBeLessThan(0.1);
    expect(m['exploded/pendulum/full/rk4']).toEqual([0]);
    expect(m['explosionTime/pendulum/full/rk4']).toEqual([-1]);
    // RK4's own one-step error at dt = 0.1 on clean pairs: the level a corrector must get under
    expect(m['trainLoss/pendulum/full/rk4']![0]).toBeGreaterThan(1e-7);
    expect(m['trainLoss/pendulum/full/rk4']![0]).toBeLessThan(1e-5);
    // plain Euler at dt = 0.2 blows up on every spring-chain test rollout, within the 20 s horizon
    expect(m['exploded/spring/full/euler']).toEqual([16]);
    expect(m['explosionTime/spring/full/euler']![0]).toBeGreaterThan(2);
    expect(m['explosionTime/spring/full/euler']![0]).toBeLessThan(20);
    // explosions decide first, then the mean MSE; either AttSolver variant may carry a system
    const beats = (sys: string, v: string) => {
      const [e, en] = [m[`exploded/${sys}/10%+noise/${v}`]![0]!, m[`exploded/${sys}/10%+noise/neurvec`]![0]!];
      return e < en || (e === en && m[`meanMse/${sys}/10%+noise/${v}`]![0]! < m[`meanMse/${sys}/10%+noise/neurvec`]![0]!);
    };
    expect(r.claimHolds).toBe(['pendulum', 'spring'].every((s) => beats(s, 'attAdd') || beats(s, 'attMul')));
    expect(r.series!.map((s) => s.name)).toEqual([
      'attsolver-pendulum-rollout-full', 'attsolver-pendulum-rollout-10', 'attsolver-pendulum-train',
      'attsolver-spring-rollout-full', 'attsolver-spring-rollout-10', 'attsolver-spring-train',
    ]);
    for (const s of r.series!) for (const line of s.series) expect(line.y.every((v) => v > 0 && Number.isFinite(v))).toBe(true);
    expect(r.bars!.map((b) => [b.name, b.bars.length])).toEqual([['attsolver-pendulum-explosions', 8], ['attsolver-spring-explosions', 8]]);
  });
});
