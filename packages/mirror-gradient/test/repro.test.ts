import { describe, expect, it } from 'vitest';
import { configsFor, repro, runExperiment, selectOnValidation, summarise, CONFIGS, type ReproSettings } from '../src/repro.js';

const TINY: ReproSettings = { numUsers: 40, numItems: 60, dim: 4, maxEpochs: 3, patience: 3, batchSize: 128, lr: 1e-2, regWeight: 1e-3, temperature: 0.3, extraStepControl: false };

describe('repro', () => {
  it('is the ReproEntry the CLI loads as mirror-gradient', () => {
    expect(repro.name).toBe('mirror-gradient');
    expect(repro.paper.arxiv).toBe('2402.11262');
    expect(typeof repro.run).toBe('function');
  });

  const results = runExperiment([0, 1], TINY);

  it('runs every configuration on every seed, deterministically and paired', () => {
    expect(results.map((r) => `${r.config}/${r.seed}`)).toEqual([0, 1].flatMap((s) => configsFor(TINY).map((c) => `${c.name}/${s}`)));
    for (const r of results) {
      expect(r.curve).toHaveLength(r.epochs);
      expect(r.validRecall10).toBe(Math.max(...r.curve));
      for (const v of [r.clean.recall10, ...Object.values(r.perturbed)]) expect(v).toBeGreaterThanOrEqual(0);
      expect(r.gradNorm).toBeGreaterThan(0);
    }
    // MG changes the trajectory of the same seed (the first batch of epoch 1 mirrors)
    expect(results[1]!.curve).not.toEqual(results[0]!.curve);
    const again = runExperiment([1], { ...TINY, maxEpochs: 1 });
    expect(again[0]!.curve[0]).toBe(results[4]!.curve[0]);
  });

  it('selects alpha2 per seed on validation only and reports paired differences', () => {
    const sel = selectOnValidation(results);
    for (const r of sel) {
      const mg = results.filter((x) => x.seed === r.seed && x.config !== 'baseline');
      expect(mg.map((x) => x.config)).toEqual(['MG a2=0.1', 'MG a2=0.2', 'MG a2=0.3']);
      expect(r.validRecall10).toBe(Math.max(...mg.map((x) => x.validRecall10)));
    }
    const out = summarise(results, [0, 1], TINY);
    expect(out.table.rows.map((row) => row[0])).toEqual(['baseline', 'MG a2=0.1', 'MG a2=0.2', 'MG a2=0.3', 'MG (val-selected)', 'paired diff (selected - baseline)']);
    expect(out.metrics.baseline_testRecall10).toEqual(results.filter((r) => r.config === 'baseline').map((r) => r.clean.recall10));
    expect([true, false, null]).toContain(out.claimHolds);
    // the alpha2 = 0 control runs only when asked for, and is never a candidate of the selection
    expect(configsFor({ ...TINY, extraStepControl: true }).map((c) => c.name)).toEqual(CONFIGS.map((c) => c.name));
    const withControl = runExperiment([2], { ...TINY, maxEpochs: 1, extraStepControl: true });
    expect(withControl.map((r) => r.config).at(-1)).toBe('control: MG a2=0');
    expect(selectOnValidation(withControl.map((r) => (r.config.startsWith('control') ? { ...r, validRecall10: 2 } : r)))[0]!.config).not.toMatch(/control/);
  });
});
