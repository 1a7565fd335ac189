import { describe, expect, it } from 'vitest';
import { Generator, matmul, nn, noGrad, randn, sqrt, sum, tensor, type Tensor } from '@methodzoo/core';
import { UNet, UViT } from '@methodzoo/models';
import {
  applyScaleLong, blockGradNorms, cs, globalGradNorm, growth, meanSampleNorm, namedBlocks, org, oscillation, oscillationRange,
  robustnessProbe, seedSpread, sqrt2, stepsToThreshold, watchFeatureNorms,
} from '../src/index.js';

describe('series metrics', () => {
  it('growth, oscillation, range, seed spread and steps-to-threshold on known series', () => {
    const v = Array.from({ length: 20 }, (_, i) => i + 1);
    // first 5% = [1]; last 20% = 17..20
    expect(growth(v)).toBeCloseTo(18.5, 12);
    const zig = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 1 : Math.E));
    expect(oscillation(zig)).toBeCloseTo(1, 12);
    expect(oscillation(Array(10).fill(3))).toBe(0);
    expect(oscillationRange([5, 5, 1, 3])).toBeCloseTo(1, 12);
    expect(seedSpread([[1, 2], [3, 2]])).toBeCloseTo((2 / 2 + 0) / 2, 12);
    expect(stepsToThreshold([5, 4, 3, 2, 1], 2.5)).toBe(3);
    expect(stepsToThreshold([5, 4, 3, 2, 1], 2.4, 2)).toBe(4);
    expect(stepsToThreshold([5, 4], 1)).toBeNull();
    expect(() => oscillation([1, -1, 2])).toThrow(/positive/);
  });

  it('meanSampleNorm is the batch mean of per-sample L2 norms', () => {
    expect(meanSampleNorm(tensor([[3, 4], [0, 1]]))).toBeCloseTo(3, 6);
  });
});

describe('per-block norms', () => {
  const unet = () => new UNet({ inChannels: 1, modelChannels: 8, channelMult: [1, 2], numResBlocks: 1, numGroups: 4, attentionResolutions: [], generator: new Generator(0) });

  it('names the blocks of the UNet and the UViT', () => {
    expect(namedBlocks(unet()).map(([n]) => n)).toEqual(['input_blocks.0', 'input_blocks.1', 'input_blocks.2', 'input_blocks.3', 'middle_block', 'output_blocks.0', 'output_blocks.1', 'output_blocks.2', 'output_blocks.3']);
    expect(namedBlocks(new UViT({ imageSize: 8, patchSize: 4, inChannels: 1, embedDim: 8, depth: 2, numHeads: 1 })).map(([n]) => n)).toEqual(['in_blocks.0', 'mid_block', 'out_blocks.0']);
    expect(() => namedBlocks(new nn.Linear(1, 1))).toThrow(/UNet or UViT/);
  });

  it('feature-norm hooks record each block output; gradient norms are the L2 norm of the block gradients', () => {
    const m = unet();
    const blocks = namedBlocks(m);
    const probe = watchFeatureNorms(blocks);
    const x = randn([2, 1, 8, 8], { generator: new Generator(1) });
    let mid: Tensor | null = null;
    const h = m.middle_block.registerForwardHook((_m, _a, out) => void (mid = out as Tensor));
    m.call(x, [3, 300]).square().sum().backward();
    h.remove();
    expect(probe.last.size).toBe(9);
    expect(probe.last.get('middle_block')).toBeCloseTo(meanSampleNorm(mid!), 6);
    const g = blockGradNorms(blocks);
    const p = m.output_blocks.at(3).parameters();
    const want = Math.sqrt(p.reduce((a, q) => a + (q.grad ? q.grad.square().sum().item() : 0), 0));
    expect(g.get('output_blocks.3')).toBeCloseTo(want, 5);
    expect(globalGradNorm(m)).toBeGreaterThanOrEqual(g.get('output_blocks.3')!);
    probe.enabled = false;
    probe.last.clear();
    noGrad(() => m.call(x, [3, 300]));
    expect(probe.last.size).toBe(0);
    probe.remove();
  });
});

describe('the robustness probe and the skip-path Lipschitz sum', () => {
  it('a linear map x -> 3x has probe value exactly 3', () => {
    expect(robustnessProbe((x) => x.mul(3), randn([4, 5], { generator: new Generator(0) }), { generator: new Generator(1) })).toBeCloseTo(3, 4);
  });

  /** The paper's analysis setting: a_i(x) = A_i x, b_i(h) = B_i h, additive skips, a middle map M. */
  class LinearUNet extends nn.Module {
    numSkips: number;
    A: Tensor[];
    B: Tensor[];
    M: Tensor;
    constructor(n: number, dim: number, gain: number, g: Generator) {
      super();
      this.numSkips = n;
      const mat = () => randn([dim, dim], { generator: g, dtype: 'float64' }).mul(gain / Math.sqrt(dim));
      this.A = Array.from({ length: n }, mat);
      this.B = Array.from({ length: n }, mat);
      this.M = mat();
    }
    fuseSkip(h: Tensor, skip: Tensor, _i: number): Tensor {
      return h.add(skip);
    }
    forward(x: Tensor): Tensor {
      const skips: Tensor[] = [];
      let h = x;
      for (const a of this.A) skips.push((h = matmul(h, a)));
      h = matmul(h, this.M);
      for (let i = this.numSkips - 1; i >= 0; i--) h = matmul(this.fuseSkip(h, skips[i]!, i), this.B[i]!);
      return h;
    }
  }

  it('the perturbation response grows with N for org and stays bounded for CS (kappa M0 about 0.64), with the middle path removed', () => {
    const probe = (n: number, s: ReturnType<typeof org>) => {
      const net = applyScaleLong(new LinearUNet(n, 32, 1.6, new Generator(n)), s);
      net.M = net.M.mul(0); // the middle path grows as M0^N whatever kappa is (research notes A7); isolate the skip paths
      const x = randn([8, 32], { generator: new Generator(9), dtype: 'float64' });
      return robustnessProbe((z) => net.call(z), x, { epsilon: 1e-3, trials: 2, generator: new Generator(2) });
    };
    const o = [2, 4, 6].map((n) => probe(n, org()));
    const c = [2, 4, 6].map((n) => probe(n, cs({ kappa: 0.25 })));
    const r = [2, 4, 6].map((n) => probe(n, sqrt2()));
    expect(o[2]! / o[0]!).toBeGreaterThan(4);
    expect(c[2]! / c[0]!).toBeLessThan(1.5);
    for (let k = 0; k < 3; k++) {
      expect(r[k]!).toBeCloseTo(o[k]! * Math.SQRT1_2, 6);
      expect(c[k]!).toBeLessThan(r[k]!);
    }
    // the bound sum_i kappa_i prod_{j<=i} ||A_j|| ||B_j|| holds (Frobenius norms bound the spectral ones)
    const net = new LinearUNet(4, 32, 1.6, new Generator(4));
    const fro = (t: Tensor) => sqrt(sum(t.square())).item();
    let bound = 0;
    let prod = 1;
    for (let i = 0; i < 4; i++) {
      prod *= fro(net.A[i]!) * fro(net.B[i]!);
      bound += prod;
    }
    bound += fro(net.M) * prod;
    expect(probe(4, org())).toBeLessThanOrEqual(bound);
  });

  it('forward norms at init (the paper\'s ReLU setting, additive skips): org > 1/sqrt2-CS > CS(0.7) > CS(0.5); org grows with N, CS stays flat', () => {
    // a_i(x) = relu(A_i x), b_i(h) = relu(B_i h), middle relu(M x), weights N(0, 2/m), m = 128
    const m = 128;
    class ReluUNet extends nn.Module {
      A: Tensor[];
      B: Tensor[];
      M: Tensor;
      constructor(public numSkips: number, g: Generator) {
        super();
        const w = () => randn([m, m], { generator: g }).mul(Math.sqrt(2 / m));
        this.A = Array.from({ length: numSkips }, w);
        this.B = Array.from({ length: numSkips }, w);
        this.M = w();
      }
      fuseSkip(h: Tensor, skip: Tensor, _i: number): Tensor {
        return h.add(skip);
      }
      forward(x: Tensor): Tensor {
        const skips: Tensor[] = [];
        let h = x;
        for (const a of this.A) skips.push((h = matmul(h, a).relu()));
        h = matmul(h, this.M).relu();
        for (let i = this.numSkips - 1; i >= 0; i--) h = matmul(this.fuseSkip(h, skips[i]!, i), this.B[i]!).relu();
        return h;
      }
    }
    const ratio = (n: number, s: ReturnType<typeof org>) =>
      noGrad(() => {
        let acc = 0;
        for (let d = 0; d < 12; d++) {
          const net = applyScaleLong(new ReluUNet(n, new Generator(100 + d)), s);
          const x = randn([8, m], { generator: new Generator(200 + d) });
          acc += sum(net.call(x).square()).item() / sum(x.square()).item();
        }
        return acc / 12;
      });
    const at = (n: number) => [org(), sqrt2(), cs({ kappa: 0.7 }), cs({ kappa: 0.5 })].map((s) => ratio(n, s));
    const [n6, n12] = [at(6), at(12)];
    for (const r of [n6, n12]) for (let k = 1; k < 4; k++) expect(r[k]!).toBeLessThan(r[k - 1]!);
    expect(n12[0]! / n6[0]!).toBeGreaterThan(2);
    expect(n12[3]! / n6[3]!).toBeLessThan(1.2);
    expect(n12[2]! / n6[2]!).toBeLessThan(1.4);
  });
});
