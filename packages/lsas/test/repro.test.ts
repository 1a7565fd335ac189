import { describe, expect, it } from 'vitest';
import { Generator, rand, tensor } from '@methodzoo/core';
import { clutteredMnist } from '../src/cluttered.js';
import { QUICK, repro, runVariant, VARIANTS } from '../src/repro.js';

describe('repro', () => {
  it('is the ReproEntry the CLI loads as lsas, with plain / SE / LSAS-SE n = 1, 2', () => {
    expect(repro.name).toBe('lsas');
    expect(repro.paper.arxiv).toBe('2305.05200');
    expect(VARIANTS.map((v) => [v.attention, v.order])).toEqual([['none', 0], ['se', 0], ['lsas-se', 1], ['lsas-se', 2]]);
  });

  it('trains a variant and measures accuracy, stage gates and bias rates', () => {
    // Random 14x14 "digits" keep the test fast; the pipeline is the same as on MNIST.
    const g = new Generator(0);
    const src = { x: rand([20, 1, 14, 14], { generator: g }), y: tensor(Array.from({ length: 20 }, (_, i) => i % 10), { dtype: 'int32' }) };
    const s = { ...QUICK, trainCanvases: 32, testCanvases: 16 };
    const train = clutteredMnist(src, { count: s.trainCanvases, canvasSize: s.canvasSize, cropSize: s.cropSize, distractors: s.distractors, seed: 1 });
    const test = clutteredMnist(src, { count: s.testCanvases, canvasSize: s.canvasSize, cropSize: s.cropSize, distractors: s.distractors, seed: 2 });
    const [plain, , n1, n2] = [VARIANTS[0]!, null, VARIANTS[2]!, VARIANTS[3]!].map((v) => (v ? runVariant(v, 0, s, train, test) : null));
    for (const r of [plain!, n1!, n2!]) {
      expect(r.losses).toHaveLength(2);
      expect(r.accuracy).toBeGreaterThanOrEqual(0);
      expect(r.accuracy).toBeLessThanOrEqual(100);
      expect(r.positionBiasRate + r.rangeBiasRate).toBeLessThanOrEqual(100);
      expect(r.examples).toHaveLength(8);
      expect(r.examples[0]).toHaveLength(s.canvasSize * s.canvasSize);
    }
    expect(plain!.stageGates.size).toBe(0);
    // Official placement: gates only in stage 3; the second order shrinks them further.
    expect([...n1!.stageGates.keys()]).toEqual([3]);
    const g1 = n1!.stageGates.get(3)!;
    const g2 = n2!.stageGates.get(3)!;
    expect(g1).toBeGreaterThan(0);
    expect(g1).toBeLessThan(0.5);
    expect(g2).toBeLessThan(g1);
  });
});
