import { describe, expect, it } from 'vitest';
import { Generator, randint, randn } from '@methodzoo/core';
import { buildModel, measure, nsiMean, nsiSpread, QUICK, repro, runVariant, VARIANTS, type ReproSettings } from '../src/repro.js';

const TINY: ReproSettings = { ...QUICK, train: 48, test: 24, epochs: 2, batchSize: 16, widths: [6, 8, 8], blocksPerStage: 2, reduction: 2 };

describe('repro', () => {
  it('is the ReproEntry the CLI loads as stepnet, with plain / SE and the labelled reconstructions', () => {
    expect(repro.name).toBe('stepnet');
    expect(repro.paper.arxiv).toBe('2308.09939');
    expect(VARIANTS.map((v) => v.key)).toEqual(['none', 'se', 'r1', 'r2']);
    expect(VARIANTS.filter((v) => v.key.startsWith('r')).every((v) => v.label.includes('reconstruction'))).toBe(true);
  });

  it('gives every variant the plain network\'s initial weights for a seed', () => {
    const nets = VARIANTS.map((v) => buildModel(v.key, 5, TINY));
    const plain = nets[0]!.stateDict();
    for (const net of nets.slice(1)) {
      for (const [k, v] of net.stateDict()) {
        if (k.includes('attention')) continue;
        expect(Array.from(v.dataSync()), k).toEqual(Array.from(plain.get(k)!.dataSync()));
      }
      expect(net.connectionScheme().every(Boolean)).toBe(true);
    }
    expect(nets[0]!.connectionScheme().some(Boolean)).toBe(false);
    const other = buildModel('none', 6, TINY).stateDict();
    expect(Array.from(other.get('fc0.weight')!.dataSync())).not.toEqual(Array.from(plain.get('fc0.weight')!.dataSync()));
  });

  it('trains and measures one variant: losses per step, accuracy, NSI bands, skipped width changes, rho', () => {
    const g = new Generator(0);
    const train = { x: randn([TINY.train, 1, 28, 28], { generator: g }), y: randint(0, 10, [TINY.train], { generator: g }) };
    const test = { x: randn([TINY.test, 1, 28, 28], { generator: g }), y: randint(0, 10, [TINY.test], { generator: g }) };
    const r = runVariant(VARIANTS[1]!, 0, TINY, train, test);
    expect(r.losses).toHaveLength(2 * 3);
    for (const l of r.losses) expect(Number.isFinite(l)).toBe(true);
    expect(r.accuracy).toBeGreaterThanOrEqual(0);
    expect(r.accuracy).toBeLessThanOrEqual(100);
    expect(Math.round((r.accuracy * TINY.test) / 100)).toBeCloseTo((r.accuracy * TINY.test) / 100, 9);
    expect(r.summary.map((b) => b.count)).toEqual([24, 24, 0, 24, 24, 24]);
    expect(r.summary[2]!.skipped).toMatch(/shape changes \[24, 6\] -> \[24, 8\]/);
    expect(r.meanStep! > 0 && r.meanStep! < 1).toBe(true);
    expect(r.rhos).toHaveLength(5);
    for (const rho of r.rhos) expect(Math.abs(rho)).toBeLessThanOrEqual(1);
    expect(nsiSpread(r.summary)).toBeGreaterThan(0);
    expect(nsiMean(r.summary)).toBeGreaterThan(0);
    // Measuring in chunks gives the same NSI as measuring at once.
    const model = buildModel('r1', 1, TINY);
    const once = measure(model, test.x, test.y, 100);
    const chunked = measure(model, test.x, test.y, 7);
    once.summary.forEach((b, i) => {
      expect(chunked.summary[i]!.count).toBe(b.count);
      if (b.count) expect(chunked.summary[i]!.mean).toBeCloseTo(b.mean, 6);
    });
    expect(chunked.accuracy).toBe(once.accuracy);
  });
});
