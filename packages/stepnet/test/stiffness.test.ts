import { describe, expect, it } from 'vitest';
import { Generator, grad, memory, noGrad, randn, tensor, zeros, type Tensor } from '@methodzoo/core';
import {
  attentionNsiCorrelation,
  neuralStiffnessIndex,
  nsiFigure,
  nsiSummary,
  proposeConnectionScheme,
  rankBlocksBySpread,
  recordTrajectory,
  sampleNorm,
  spearman,
  StepMLP,
  StepResNet,
  stiffnessIndex,
  type BlockSummary,
  type NsiResult,
} from '../src/index.js';

const arr = (t: Tensor) => Array.from(t.dataSync());

describe('stiffnessIndex', () => {
  it('is 0 for NSI(x, x) and equals ||y - x|| / (||x|| + eps) per sample', () => {
    const x = tensor([[3, 4], [1, 0]]);
    const y = tensor([[3, 4 + 5], [1, 2]]);
    expect(arr(stiffnessIndex(x, x))).toEqual([0, 0]);
    const v = arr(stiffnessIndex(x, y));
    expect(v[0]).toBeCloseTo(5 / 5, 6);
    expect(v[1]).toBeCloseTo(2 / 1, 6);
  });

  it('is scale invariant: NSI(c x, c y) = NSI(x, y) for c != 0', () => {
    const g = new Generator(0);
    const x = randn([3, 4, 2, 2], { generator: g });
    const y = randn([3, 4, 2, 2], { generator: g });
    const base = arr(stiffnessIndex(x, y));
    for (const c of [3, -2, 0.01]) {
      arr(stiffnessIndex(x.mul(c), y.mul(c))).forEach((v, i) => expect(v).toBeCloseTo(base[i]!, 5));
    }
  });

  it('gives no NaN on a zero state (eps = 1e-8 in the denominator) and a zero gradient there', () => {
    const z = zeros([2, 3]);
    expect(arr(stiffnessIndex(z, z))).toEqual([0, 0]);
    const step = arr(stiffnessIndex(z, tensor([[1e-9, 0, 0], [0, 0, 0]])));
    expect(step[0]).toBeCloseTo(0.1, 6);
    expect(step[1]).toBe(0);
    const x = tensor([[0, 0, 0], [1, 2, 2]], { dtype: 'float64', requiresGrad: true });
    const [gx] = grad(sampleNorm(x).sum(), [x]);
    expect(arr(gx!)).toEqual([0, 0, 0, 1 / 3, 2 / 3, 2 / 3]);
    expect(() => stiffnessIndex(z, zeros([2, 4]))).toThrow(/same shape, got \[2, 3\] and \[2, 4\]/);
  });
});

describe('recordTrajectory and neuralStiffnessIndex', () => {
  const g = new Generator(1);
  const net = new StepResNet({ depth: 14, inChannels: 1, width: 0.25, adaptor: 'se', reduction: 2, generator: g });
  const x = randn([5, 1, 8, 8], { generator: g });

  it('records every block in order, reports shape-changing blocks as skipped, [N] per block', () => {
    const traj = recordTrajectory(net, x);
    expect(traj.steps.map((s) => s.name)).toEqual(['layer1.0', 'layer1.1', 'layer2.0', 'layer2.1', 'layer3.0', 'layer3.1']);
    expect(traj.steps.map((s) => [s.stage, s.indexInStage])).toEqual([[1, 0], [1, 1], [2, 0], [2, 1], [3, 0], [3, 1]]);
    expect(traj.output.shape).toEqual([5, 10]);
    expect(traj.steps[2]!.attention!.shape).toEqual([5, 8]);
    const nsi = neuralStiffnessIndex(traj);
    expect(nsi.kind).toBe('relative-step');
    expect(nsi.eps).toBe(1e-8);
    expect(nsi.blocks.map((b) => b.skipped ?? null)).toEqual([null, null, 'shape changes [5, 4, 8, 8] -> [5, 8, 4, 4]', null, 'shape changes [5, 8, 4, 4] -> [5, 16, 2, 2]', null]);
    for (const b of nsi.blocks) if (b.values) {
      expect(b.values.length).toBe(5);
      for (const v of b.values) expect(v).toBeGreaterThan(0);
    }
    // The values are the block's own relative step.
    const s1 = traj.steps[1]!;
    const want = arr(stiffnessIndex(s1.input, s1.output));
    Array.from(nsi.blocks[1]!.values!).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));
    const lip = neuralStiffnessIndex(traj, { kind: 'lipschitz' });
    expect(lip.blocks.map((b) => b.skipped ?? null)).toEqual([null, 'next residual has another shape [5, 4, 8, 8] -> [5, 8, 4, 4]', 'shape changes [5, 4, 8, 8] -> [5, 8, 4, 4]', 'next residual has another shape [5, 8, 4, 4] -> [5, 16, 2, 2]', 'shape changes [5, 8, 4, 4] -> [5, 16, 2, 2]', 'last block: no f_{t+1}']);
    const f0 = traj.steps[0]!;
    const f1 = traj.steps[1]!;
    const num = arr(sampleNorm(f1.residual.sub(f0.residual)));
    const den = arr(sampleNorm(f0.output.sub(f0.input)));
    Array.from(lip.blocks[0]!.values!).forEach((v, i) => expect(v).toBeCloseTo(num[i]! / (den[i]! + 1e-8), 5));
    traj.dispose();
  });

  it('for a pre-activation (no final ReLU) network NSI = ||a ⊙ f|| / ||x||', () => {
    const mlp = new StepMLP({ inFeatures: 12, widths: [6, 6, 6], blocksPerStage: 2, adaptor: 'se', activation: 'pre', reduction: 2, generator: g });
    const traj = recordTrajectory(mlp, randn([4, 12], { generator: g }));
    const nsi = neuralStiffnessIndex(traj);
    traj.steps.forEach((s, b) => {
      const a = arr(s.attention!);
      const f = arr(s.residual);
      const xs = arr(s.input);
      for (let n = 0; n < 4; n++) {
        let num = 0;
        let den = 0;
        for (let c = 0; c < 6; c++) {
          num += (a[n * 6 + c]! * f[n * 6 + c]!) ** 2;
          den += xs[n * 6 + c]! ** 2;
        }
        expect(nsi.blocks[b]!.values![n]).toBeCloseTo(Math.sqrt(num) / Math.sqrt(den), 5);
      }
    });
    traj.dispose();
  });

  it('is deterministic for a seed, restores the training mode and frees its tensors', () => {
    const make = () => new StepResNet({ depth: 8, inChannels: 1, width: 0.25, adaptor: 'r1', reduction: 2, generator: new Generator(7) });
    const xs = randn([3, 1, 6, 6], { generator: new Generator(8) });
    const a = make();
    const b = make();
    a.train();
    const before = memory().tensors;
    const ta = recordTrajectory(a, xs);
    expect(a.training).toBe(true);
    const tb = recordTrajectory(b, xs);
    const na = neuralStiffnessIndex(ta);
    const nb = neuralStiffnessIndex(tb);
    na.blocks.forEach((blk, i) => expect(blk.values && Array.from(blk.values)).toEqual(nb.blocks[i]!.values && Array.from(nb.blocks[i]!.values!)));
    ta.dispose();
    tb.dispose();
    expect(memory().tensors).toBe(before);
  });

  it('correlates the mean step with NSI per attention block; plain blocks give null', () => {
    const mixed = new StepResNet({ depth: 14, inChannels: 1, width: 0.25, adaptor: 'se', connectionScheme: [true, false, true, true, false, true], reduction: 2, generator: g });
    const traj = recordTrajectory(mixed, x);
    const nsi = neuralStiffnessIndex(traj);
    const c = attentionNsiCorrelation(traj, nsi);
    expect(c.map((r) => r.meanAttention === null)).toEqual([false, true, false, false, true, false]);
    expect(c[1]!.rho).toBeNull();
    expect(c[2]!.rho).toBeNull(); // skipped block: no NSI
    const a0 = arr(noGrad(() => traj.steps[0]!.attention!.mean(1)));
    expect(c[0]!.rho).toBeCloseTo(spearman(a0, nsi.blocks[0]!.values!), 12);
    expect(Math.abs(c[0]!.rho!)).toBeLessThanOrEqual(1);
    traj.dispose();
  });

  it('needs ResidualStep blocks', () => {
    expect(() => recordTrajectory(new StepMLP({ blocksPerStage: 1 }).fc, zeros([1, 64]))).toThrow(/contains no ResidualStep blocks/);
  });
});

describe('summaries, ranking and figure', () => {
  const result: NsiResult = {
    kind: 'relative-step',
    eps: 1e-8,
    blocks: [
      { name: 'layer1.0', index: 0, stage: 1, indexInStage: 0, values: Float64Array.from([1, 2, 3, 4]) },
      { name: 'layer1.1', index: 1, stage: 1, indexInStage: 1, values: Float64Array.from([0.5, 0.5, 0.5, 0.5]) },
      { name: 'layer2.0', index: 2, stage: 2, indexInStage: 0, values: null, skipped: 'shape changes' },
      { name: 'layer2.1', index: 3, stage: 2, indexInStage: 1, values: Float64Array.from([0, 10, 0, 0]) },
    ],
  };

  it('nsiSummary gives mean / min / max / population std / spread; skipped blocks are kept with NaN', () => {
    const s = nsiSummary(result);
    expect(s[0]).toMatchObject({ count: 4, mean: 2.5, min: 1, max: 4, spread: 3 });
    expect(s[0]!.std).toBeCloseTo(Math.sqrt(1.25), 12);
    expect(s[1]).toMatchObject({ mean: 0.5, std: 0, spread: 0 });
    expect(s[2]!.count).toBe(0);
    expect(s[2]!.skipped).toBe('shape changes');
    expect(Number.isNaN(s[2]!.mean)).toBe(true);
    expect(s[3]!.std).toBeCloseTo(Math.sqrt(18.75), 12);
  });

  it('spearman: +1, -1, ties averaged, NaN for a constant sample', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 100])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    // ranks a = [1, 2.5, 2.5, 4], b = [1, 2, 3, 4]: rho = 4.5 / sqrt(4.5 * 5)
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(4.5 / Math.sqrt(4.5 * 5), 12);
    expect(Number.isNaN(spearman([1, 1, 1], [1, 2, 3]))).toBe(true);
    expect(() => spearman([1], [1, 2])).toThrow(/same length/);
  });

  it('ranks measured blocks by spread (heuristic) and proposes a scheme over all blocks', () => {
    const s = nsiSummary(result);
    expect(rankBlocksBySpread(s).map((r) => [r.name, r.score])).toEqual([['layer2.1', 10], ['layer1.0', 3], ['layer1.1', 0]]);
    expect(rankBlocksBySpread(s, { by: 'std' })[0]!.name).toBe('layer2.1');
    expect(proposeConnectionScheme(s)).toEqual([true, false, false, true]);
    expect(proposeConnectionScheme(s, { count: 1, includeSkipped: true })).toEqual([false, false, true, true]);
    expect(() => proposeConnectionScheme(s, { count: 4 })).toThrow(/count must be an integer in \[0, 3\]/);
  });

  it('nsiFigure: one plot per stage with mean / max / min lines per model, skipped blocks left out', () => {
    const s: BlockSummary[] = nsiSummary(result);
    const plots = nsiFigure([{ label: 'SE', summary: s }, { label: 'plain', summary: s }]);
    expect(plots.map((p) => p.name)).toEqual(['nsi-stage1', 'nsi-stage2']);
    expect(plots[0]!.series.map((x) => x.name)).toEqual(['SE mean', 'SE max', 'SE min', 'plain mean', 'plain max', 'plain min']);
    expect(plots[0]!.series[0]).toMatchObject({ x: [1, 2], y: [2.5, 0.5] });
    expect(plots[1]!.series[1]).toMatchObject({ x: [2], y: [10] });
  });
});
