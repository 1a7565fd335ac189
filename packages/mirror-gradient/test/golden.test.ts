import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Generator, noGrad, optim, tensor } from '@methodzoo/core';
import { mirrorGradient, Vbpr } from '../src/index.js';

// Written by tools/golden/mirror_gradient_golden.py (PyTorch, float64).
const fx = JSON.parse(readFileSync(new URL('./fixtures/vbpr-mg.json', import.meta.url), 'utf8')) as {
  config: { users: number; dim: number; alpha1: number; alpha2: number; beta: number; lr: number; regWeight: number };
  features: number[][];
  init: Record<string, number[][] | number[]>;
  batches: { users: number[]; pos: number[]; neg: number[] }[];
  losses: number[];
  params: Record<string, number[][] | number[]>[];
};

describe('golden: VBPR + Adam + Mirror Gradient against PyTorch', () => {
  it('matches the parameters after every iteration (mirror, normal, mirror)', () => {
    const c = fx.config;
    const model = new Vbpr(c.users, tensor(fx.features), { dim: c.dim, regWeight: c.regWeight, generator: new Generator(0) });
    const byName = new Map(model.namedParameters());
    noGrad(() => {
      for (const [k, v] of Object.entries(fx.init)) byName.get(k)!.assign(tensor(v));
    });
    const mg = mirrorGradient(new optim.Adam(model.parameters(), { lr: c.lr }), { alpha1: c.alpha1, alpha2: c.alpha2, beta: c.beta });
    mg.startEpoch();
    fx.batches.forEach((b, i) => {
      const batch = { users: Int32Array.from(b.users), pos: Int32Array.from(b.pos), neg: Int32Array.from(b.neg) };
      const loss = mg.step(() => model.loss(batch));
      expect(loss.item()).toBeCloseTo(fx.losses[i]!, 5);
      for (const [k, want] of Object.entries(fx.params[i]!)) {
        const got = (byName.get(k)!.tolist() as number[] | number[][]).flat();
        const exp = (want as number[] | number[][]).flat();
        got.forEach((v, j) => expect(Math.abs(v - exp[j]!)).toBeLessThan(2e-6));
      }
    });
    expect(mg.baseSteps).toBe(5);
  });
});
