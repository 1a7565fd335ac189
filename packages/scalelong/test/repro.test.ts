import { describe, expect, it } from 'vitest';
import { noGrad, randn, Generator } from '@methodzoo/core';
import { cs, org, QUICK, QUICK_UVIT, repro, runSetting, SETTINGS, trainVariant, variants, type ScaleLongReproConfig } from '../src/index.js';

const tiny: ScaleLongReproConfig = { ...QUICK, modelChannels: 4, batch: 2, steps: 3, warmup: 2, logEvery: 1, samples: 2, ddimSteps: 2 };
const data = () => ({ train: noGrad(() => randn([6, 1, 14, 14], { generator: new Generator(0) }).tanh()), heldOut: noGrad(() => randn([2, 1, 14, 14], { generator: new Generator(1) }).tanh()) });

describe('repro', () => {
  it('is the ReproEntry the CLI loads as scalelong, comparing the paper\'s four variants', () => {
    expect(repro.name).toBe('scalelong');
    expect(repro.paper.arxiv).toBe('2310.13545');
    expect(variants(0.7).map((v) => v.kind)).toEqual(['org', 'sqrt2', 'cs', 'ls']);
  });

  it('a run replays under its seed, and CS(kappa = 1) trains exactly like org', () => {
    const d = data();
    const a = trainVariant(org(), 3, tiny, d);
    const b = trainVariant(org(), 3, tiny, d);
    const c = trainVariant(cs({ kappa: 1 }), 3, tiny, d);
    expect(a.losses).toHaveLength(3);
    expect(b.losses).toEqual(a.losses);
    expect(c.losses).toEqual(a.losses);
    expect(c.lastNorm).toEqual(a.lastNorm);
    expect(Array.from(c.samples)).toEqual(Array.from(a.samples));
    expect(a.samples.length).toBe(2 * 14 * 14);
    expect(a.logSteps).toEqual([0, 1, 2]);
    expect(a.gradNorm.every((g) => g > 0)).toBe(true);
    // a different scaling changes the trajectory from the first step's output on
    const s = trainVariant(cs({ kappa: 0.5 }), 3, tiny, d);
    expect(s.losses[0]).toBe(a.losses[0]); // the zero-initialised output conv makes step 0 identical
    expect(s.losses.slice(1)).not.toEqual(a.losses.slice(1));
  });

  it('the UViT backbone trains through the same loop; CS(kappa = 1) again equals org', () => {
    const d = data();
    const cfg: ScaleLongReproConfig = { ...tiny, backbone: 'uvit', uvit: { patchSize: 7, embedDim: 8, depth: 2, numHeads: 1 } };
    const a = trainVariant(org(), 5, cfg, d);
    const c = trainVariant(cs({ kappa: 1 }), 5, cfg, d);
    expect(c.losses).toEqual(a.losses);
    expect(a.midNorm.every((v) => v > 0)).toBe(true);
    const l = trainVariant(variants(0.7)[3]!, 5, cfg, d);
    expect(l.losses[0]).not.toBe(a.losses[0]); // LS gates the skips from the first step (no zero-initialised head in U-ViT)
  });

  it('runSetting reports both backbones: one row per backbone and variant, curves, bars and sample grids for each', async () => {
    expect(SETTINGS.quick.backbones.map((c) => c.backbone ?? 'unet')).toEqual(['unet', 'uvit']);
    expect(SETTINGS.medium.seeds).toBe(2);
    const small = { steps: 2, batch: 2, warmup: 1, logEvery: 1, trainImages: 20, heldOutImages: 2, samples: 2, ddimSteps: 2 };
    const unet: ScaleLongReproConfig = { ...QUICK, ...small, modelChannels: 4 };
    const uvit: ScaleLongReproConfig = { ...QUICK_UVIT, ...small, uvit: { patchSize: 7, embedDim: 8, depth: 2, numHeads: 1 } };
    const logs: string[] = [];
    const progress = { task: () => ({ tick: () => undefined, done: () => undefined }), log: (m: string) => void logs.push(m) };
    const r = await runSetting({ backbones: [unet, uvit], seeds: 1 }, { quick: true, seed: 0, outDir: 'unused' }, progress);
    expect(r.table.rows.map((row) => `${row[0]} ${row[1]}`)).toEqual(['UNet org', 'UNet 1/sqrt2-CS', 'UNet CS(kappa=0.7)', 'UNet LS', 'U-ViT org', 'U-ViT 1/sqrt2-CS', 'U-ViT CS(kappa=0.7)', 'U-ViT LS']);
    expect(r.table.rows.every((row) => row.length === r.table.columns.length)).toBe(true);
    expect(logs[1]).toMatch(/U-ViT patch 7, dim 8, depth 2 \(1 skips\)/);
    const names = [...r.series!.map((p) => p.name), ...r.bars!.map((b) => b.name)];
    expect(new Set(names).size).toBe(names.length);
    expect(r.series!.filter((p) => p.name.startsWith('uvit-'))).toHaveLength(4);
    expect(r.images!.map((g) => [g.name, g.images.length])).toEqual([['unet-samples', 8], ['uvit-samples', 8]]);
    expect(r.claimHolds).toBeNull();
    expect(r.metrics['U-ViT LS osc last norm']).toHaveLength(1);
  });
});
