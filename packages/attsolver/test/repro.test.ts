import { describe, expect, it } from 'vitest';
import type { ProgressReporter } from '@methodzoo/core';
import { repro } from '../src/repro.js';

const quiet: ProgressReporter = { task: () => ({ tick: () => {}, done: () => {} }), log: () => {} };

describe('repro', () => {
  it('is the ReproEntry the CLI loads as attsolver', () => {
    expect(repro.name).toBe('attsolver');
    expect(repro.paper.arxiv).toBe('2302.10184');
  });

  it('quick run: four models x two data regimes, consistent metrics and claim', async () => {
    const r = await repro.run({ quick: true, seed: 0, outDir: 'reports/attsolver' }, quiet);
    expect(r.table.rows.map((row) => `${row[0]}/${row[1]}`)).toEqual([
      'full/rk4', 'full/neurvec', 'full/attAdd', 'full/attMul',
      '10%+noise/rk4', '10%+noise/neurvec', '10%+noise/attAdd', '10%+noise/attMul',
    ]);
    const m = r.metrics as Record<string, number[]>;
    // plain RK4 has nothing to train: the same rollout error in both regimes, and a small one
    expect(m['meanMse/full/rk4']).toEqual(m['meanMse/10%+noise/rk4']);
    expect(m['meanMse/full/rk4']![0]).toBeGreaterThan(1e-4);
    expect(m['meanMse/full/rk4']![0]).toBeLessThan(0.1);
    expect(m['exploded/full/rk4']).toEqual([0]);
    // explosions decide first, then the mean MSE; either AttSolver variant may carry the claim
    const beats = (v: string) => {
      const [e, en] = [m[`exploded/10%+noise/${v}`]![0]!, m['exploded/10%+noise/neurvec']![0]!];
      return e < en || (e === en && m[`meanMse/10%+noise/${v}`]![0]! < m['meanMse/10%+noise/neurvec']![0]!);
    };
    expect(r.claimHolds).toBe(beats('attAdd') || beats('attMul'));
    expect(r.series!.map((s) => s.name)).toEqual(['attsolver-rollout-full', 'attsolver-rollout-10', 'attsolver-train-loss']);
    for (const s of r.series!.slice(0, 2)) for (const line of s.series) expect(line.y.every((v) => v > 0 && Number.isFinite(v))).toBe(true);
  });
});
