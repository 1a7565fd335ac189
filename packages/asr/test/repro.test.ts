import { describe, expect, it } from 'vitest';
import { Generator, noGrad, randn } from '@methodzoo/core';
import { SEBlock } from '@methodzoo/models';
import { asrLayers, reparameterize } from '../src/index.js';
import { buildVariant, repro, VARIANTS } from '../src/repro.js';

describe('repro', () => {
  it('is the ReproEntry the CLI loads as asr, with the paper\'s CIFAR-100 numbers', () => {
    expect(repro.name).toBe('asr');
    expect(repro.paper.arxiv).toBe('2304.06345');
    expect(VARIANTS.map((v) => v.paper)).toEqual([74.1, 75.03, 75.21, 76.23]);
  });

  it('builds the four variants on one backbone initialisation per seed', () => {
    const nets = VARIANTS.map((v) => buildVariant(v.key, 3));
    const conv = nets.map((n) => [...n.conv1.stateDict().get('weight')!.dataSync()]);
    for (const c of conv) expect(c).toEqual(conv[0]);
    const [plain, se, asr, both] = nets;
    expect(se!.blocks().every((b) => b.attention instanceof SEBlock)).toBe(true);
    expect(asrLayers(asr!)).toHaveLength(3);
    expect(both!.blocks().every((b) => b.attention instanceof SEBlock)).toBe(true);
    // ResNet-8 at widths 8/16/32 on 1 channel: PyTorch's count for the same model.
    expect(plain!.numParameters()).toBe(19810);
    // Deployed: ASR(SE) is the plain backbone, ASR(SE)+SE the SE model.
    const x = randn([2, 1, 14, 14], { generator: new Generator(0) });
    asr!.eval();
    const before = noGrad(() => asr!.call(x)).dataSync();
    reparameterize(asr!);
    expect(asr!.numParameters()).toBe(plain!.numParameters());
    const after = noGrad(() => asr!.call(x)).dataSync();
    for (let i = 0; i < before.length; i++) expect(Math.abs(after[i]! - before[i]!)).toBeLessThan(1e-5);
    reparameterize(both!);
    expect(both!.numParameters()).toBe(se!.numParameters());
    for (const n of nets) n.dispose();
  });
});
