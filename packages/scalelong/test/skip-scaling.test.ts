import { describe, expect, it } from 'vitest';
import { Generator, grad, nn, noGrad, randn, tensor, type Tensor } from '@methodzoo/core';
import { UNet, UViT } from '@methodzoo/models';
import {
  applyScaleLong, ChannelGate, cs, csCoefficients, ls, org, skipCoefficients, sqrt2, sumSquaredCoefficients, TokenGate,
  type ScaleLongStrategy,
} from '../src/index.js';

const arr = (t: Tensor) => Array.from(t.dataSync() as Float32Array);

/** A UNet that records the sum of |skip| it is asked to fuse, by index. */
class RecordingUNet extends UNet {
  seen = new Map<number, number>();
  override fuseSkip(h: Tensor, skip: Tensor, index: number): Tensor {
    this.seen.set(index, skip.abs().sum().item());
    return super.fuseSkip(h, skip, index);
  }
}

function smallUNet(seed = 0, Cls: typeof UNet = UNet, skipMode: 'concat' | 'add' = 'concat'): UNet {
  const g = new Generator(seed);
  const net = new Cls({ inChannels: 1, modelChannels: 8, channelMult: [1, 2], numResBlocks: 1, numGroups: 4, attentionResolutions: [], generator: g, skipMode });
  // the DDPM UNet zero-initialises its last conv and each ResBlock's out conv; random weights make every path count
  noGrad(() => {
    for (const p of net.parameters()) if (p.ndim === 4) p.assign(randn(p.shape, { generator: g }).mul(0.2));
  });
  return net;
}
const smallUViT = (seed = 0) => new UViT({ imageSize: 8, patchSize: 2, inChannels: 1, embedDim: 16, depth: 4, numHeads: 2, generator: new Generator(seed) });
const x8 = () => randn([2, 1, 8, 8], { generator: new Generator(42) });

function outputs(make: () => UNet | UViT, s: ScaleLongStrategy | null): number[] {
  const m = make();
  if (s) applyScaleLong(m, s);
  return arr(noGrad(() => m.call(x8(), [10, 700])));
}

describe('coefficients', () => {
  it('CS is kappa^(i-1) from the outermost skip: N = 6, kappa = 0.5 in decoder order is [1/32 .. 1]', () => {
    expect(csCoefficients(6, 0.5)).toEqual([1, 0.5, 0.25, 0.125, 0.0625, 0.03125]);
    expect([...csCoefficients(6, 0.5)].reverse()).toEqual([0.03125, 0.0625, 0.125, 0.25, 0.5, 1]);
    expect(skipCoefficients(sqrt2(), 3)).toEqual([Math.SQRT1_2, Math.SQRT1_2, Math.SQRT1_2]);
    expect(skipCoefficients(org(), 2)).toEqual([1, 1]);
    expect(skipCoefficients(ls(), 2)).toBeNull();
    expect(() => cs({ kappa: 1.5 })).toThrow(/kappa/);
  });

  it('sum of kappa_i^2: N for org, N/2 for 1/sqrt2-CS, (1 - kappa^2N)/(1 - kappa^2) for CS', () => {
    expect(sumSquaredCoefficients(org(), 6)).toBe(6);
    expect(sumSquaredCoefficients(sqrt2(), 6)).toBeCloseTo(3, 12);
    expect(sumSquaredCoefficients(cs({ kappa: 0.5 }), 6)).toBeCloseTo((1 - 0.5 ** 12) / (1 - 0.25), 12);
    expect(sumSquaredCoefficients(cs({ kappa: 0.7 }), 200)).toBeCloseTo(1 / (1 - 0.49), 10);
  });
});

describe('applyScaleLong on the DDPM UNet and the UViT', () => {
  it('org and CS(kappa = 1) equal the unmodified model exactly', () => {
    for (const make of [() => smallUNet(), smallUViT]) {
      const plain = outputs(make, null);
      expect(outputs(make, org())).toEqual(plain);
      expect(outputs(make, cs({ kappa: 1 }))).toEqual(plain);
      expect(plain.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    }
  });

  it('CS multiplies skip index i by kappa^i and 1/sqrt2-CS every skip by 2^-1/2', () => {
    const base = smallUNet(1, RecordingUNet) as RecordingUNet;
    noGrad(() => base.call(x8(), [10, 700]));
    expect(base.numSkips).toBe(4);
    for (const [s, coef] of [[cs({ kappa: 0.6 }), (i: number) => 0.6 ** i], [sqrt2(), () => Math.SQRT1_2]] as const) {
      const m = applyScaleLong(smallUNet(1, RecordingUNet) as RecordingUNet, s);
      noGrad(() => m.call(x8(), [10, 700]));
      for (let i = 0; i < 4; i++) expect(m.seen.get(i)! / base.seen.get(i)!).toBeCloseTo(coef(i), 5);
    }
  });

  it('1/sqrt2-CS is not CS(kappa = 1/sqrt2) for N > 1, and scaled skips change the output', () => {
    for (const make of [() => smallUNet(), smallUViT]) {
      const a = outputs(make, sqrt2());
      const b = outputs(make, cs({ kappa: Math.SQRT1_2 }));
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeGreaterThan(1e-4);
    }
  });

  it('additive fusion scales the skip before the projection', () => {
    const plain = outputs(() => smallUNet(3, UNet, 'add'), null);
    expect(outputs(() => smallUNet(3, UNet, 'add'), cs({ kappa: 1 }))).toEqual(plain);
    expect(outputs(() => smallUNet(3, UNet, 'add'), cs({ kappa: 0.5 }))).not.toEqual(plain);
  });

  it('remove() restores the model and a second apply is refused', () => {
    const plain = outputs(() => smallUNet(), null);
    const m = applyScaleLong(smallUNet(), ls({ generator: new Generator(1) }));
    expect(() => applyScaleLong(m, cs())).toThrow(/already/);
    const n = m.numParameters();
    m.scaleLong.remove();
    expect(m.numParameters()).toBeLessThan(n);
    expect(arr(noGrad(() => m.call(x8(), [10, 700])))).toEqual(plain);
  });
});

describe('LS gates', () => {
  it('token gate (official): [B, L, 1] in (0, 1), mean about 0.5 at init, 8,497 parameters for L = 257', () => {
    const gate = new TokenGate(257, { generator: new Generator(0) });
    expect(gate.numParameters()).toBe(2 * 257 * 16 + 16 + 257);
    expect(gate.numParameters()).toBe(8497);
    const g = noGrad(() => gate.call(randn([4, 257, 32], { generator: new Generator(1) })));
    expect(g.shape).toEqual([4, 257, 1]);
    const v = arr(g);
    expect(Math.min(...v)).toBeGreaterThan(0);
    expect(Math.max(...v)).toBeLessThan(1);
    expect(Math.abs(v.reduce((a, b) => a + b) / v.length - 0.5)).toBeLessThan(0.05);
  });

  it('channel gate (conv adaptation): [B, C, 1, 1] in (0, 1), mean about 0.5', () => {
    const gate = new ChannelGate(64, { generator: new Generator(0) });
    expect(gate.numParameters()).toBe(64 * 4 + 4 + 4 * 64 + 64);
    const g = noGrad(() => gate.call(randn([3, 64, 5, 5], { generator: new Generator(2) })));
    expect(g.shape).toEqual([3, 64, 1, 1]);
    const v = arr(g);
    expect(Math.min(...v) > 0 && Math.max(...v) < 1).toBe(true);
    expect(Math.abs(v.reduce((a, b) => a + b) / v.length - 0.5)).toBeLessThan(0.05);
  });

  it('shared LS registers one gate for all skips, non-shared one per skip (UViT: L = 17 tokens)', () => {
    const L = 1 + 16;
    const per = 2 * L * 1 + 1 + L;
    const base = smallUViT().numParameters();
    const shared = applyScaleLong(smallUViT(), ls());
    expect(shared.numParameters() - base).toBe(per);
    expect(new Set(shared.scaleLong.gates).size).toBe(1);
    expect(shared.scaleLong.gates).toHaveLength(2);
    expect([...shared.stateDict().keys()]).toContain('scalelong.fc1.weight');
    const separate = applyScaleLong(smallUViT(), ls({ shared: false }));
    expect(separate.numParameters() - base).toBe(2 * per);
    expect([...separate.stateDict().keys()]).toContain('scalelong.1.fc2.bias');
    // conv UNet: skip widths [8, 8, 8, 16]; shared = one gate per width
    const u = applyScaleLong(smallUNet(), ls());
    expect(new Set(u.scaleLong.gates).size).toBe(2);
    const un = applyScaleLong(smallUNet(), ls({ shared: false }));
    expect(new Set(un.scaleLong.gates).size).toBe(4);
  });

  it('a gate fixed at 1 equals org, a gate fixed at c equals uniform scaling by c', () => {
    for (const make of [() => smallUNet(), smallUViT]) {
      const plain = outputs(make, null);
      const fixed = (bias: number) => {
        const m = applyScaleLong(make(), ls({ shared: false }));
        noGrad(() => {
          for (const gate of m.scaleLong.gates as (TokenGate | ChannelGate)[]) {
            gate.fc2.weight.assign(gate.fc2.weight.mul(0));
            gate.fc2.bias!.assign(gate.fc2.bias!.mul(0).add(bias));
          }
        });
        return arr(noGrad(() => m.call(x8(), [10, 700])));
      };
      expect(fixed(60)).toEqual(plain);
      const c = 1 / (1 + Math.exp(-0.3));
      const uniform = outputs(make, { kind: 'cs', kappa: 1 } as ScaleLongStrategy);
      expect(uniform).toEqual(plain);
      const viaGate = fixed(0.3);
      const m = make();
      const base = m.fuseSkip.bind(m);
      m.fuseSkip = (h: Tensor, s: Tensor, i: number) => base(h, s.mul(c), i);
      const viaScale = arr(noGrad(() => m.call(x8(), [10, 700])));
      viaGate.forEach((v, i) => expect(v).toBeCloseTo(viaScale[i]!, 5));
    }
  });

  it('gradients reach the gates through the model and match finite differences', () => {
    const m = applyScaleLong(smallUViT(), ls({ generator: new Generator(3) }));
    m.call(x8(), [10, 700]).square().mean().backward();
    const gate = m.scaleLong.gates[0] as TokenGate;
    expect(arr(gate.fc1.weight.grad!).some((v) => v !== 0)).toBe(true);
    // float64 finite differences on the gate alone
    for (const gate64 of [new TokenGate(20, { dtype: 'float64', generator: new Generator(4), reduction: 4 }), new ChannelGate(12, { dtype: 'float64', generator: new Generator(5), reduction: 4 })]) {
      const s = randn(gate64 instanceof TokenGate ? [2, 20, 3] : [2, 12, 3, 3], { dtype: 'float64', generator: new Generator(6) });
      const w = randn(gate64 instanceof TokenGate ? [2, 20, 1] : [2, 12, 1, 1], { dtype: 'float64', generator: new Generator(7) });
      const f = () => gate64.call(s).mul(w).sum();
      const [g1] = grad(f(), [gate64.fc1.weight]);
      const analytic = Array.from(g1!.dataSync());
      const W = gate64.fc1.weight;
      const base = Array.from(W.dataSync());
      const h = 1e-6;
      for (const k of [0, 3, 7]) {
        const bump = (d: number) => {
          const v = [...base];
          v[k] = v[k]! + d;
          W.assign(tensor(v, { dtype: 'float64' }).reshape(W.shape));
          return noGrad(() => f().item());
        };
        const fd = (bump(h) - bump(-h)) / (2 * h);
        expect(analytic[k]!).toBeCloseTo(fd, 6);
      }
      W.assign(tensor(base, { dtype: 'float64' }).reshape(W.shape));
    }
  });

  it('a user model with fuseSkip and numSkips takes LS with an explicit gate layout', () => {
    class TwoSkip extends nn.Module {
      numSkips = 2;
      forward(x: Tensor): Tensor {
        return this.fuseSkip(this.fuseSkip(x, x, 1), x, 0);
      }
      fuseSkip(h: Tensor, skip: Tensor, _index: number): Tensor {
        return h.add(skip);
      }
    }
    expect(() => applyScaleLong(new TwoSkip(), ls())).toThrow(/opts.gates/);
    const m = applyScaleLong(new TwoSkip(), cs({ kappa: 0.5 }));
    expect(arr(m.call(tensor([[[1, 2]]])))).toEqual([2.5, 5]);
    const g = applyScaleLong(new TwoSkip(), ls(), { gates: { kind: 'token', tokens: 3 } });
    expect(g.call(randn([1, 3, 4])).shape).toEqual([1, 3, 4]);
  });
});
