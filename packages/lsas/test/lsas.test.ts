import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Generator, grad, nn, noGrad, randn, sigmoid, tensor, type Tensor } from '@methodzoo/core';
import { SEBlock } from '@methodzoo/models';
import { LSAS, LSASAttention, SEAttention, lsasResNet, lsasResNet50, lsasSEBlock, seBlock, watchGates, withLSAS, attentionStages } from '../src/index.js';

const sig = (v: number) => 1 / (1 + Math.exp(-v));
const arr = (t: Tensor) => Array.from(t.dataSync());

/** Sets every w_k, b_k of an LSAS chain to standard-normal values. */
function randomizeChain(l: LSAS, g: Generator): void {
  for (let k = 1; k <= l.order; k++) {
    l.weight(k).assign(randn([l.channels], { generator: g, dtype: l.weight(k).dtype }));
    l.bias(k).assign(randn([l.channels], { generator: g, dtype: l.bias(k).dtype }));
  }
}

describe('LSAS chain', () => {
  it('starts at w = 0.5, b = -0.5 and has 2 C n parameters', () => {
    const l = new LSAS({ channels: 5, order: 3 });
    expect(l.numParameters()).toBe(2 * 5 * 3);
    expect([...l.stateDict().keys()]).toEqual(['w1', 'b1', 'w2', 'b2', 'w3', 'b3']);
    for (let k = 1; k <= 3; k++) {
      expect(arr(l.weight(k))).toEqual([0.5, 0.5, 0.5, 0.5, 0.5]);
      expect(arr(l.bias(k))).toEqual([-0.5, -0.5, -0.5, -0.5, -0.5]);
    }
    expect(new LSAS({ channels: 5, order: 0 }).numParameters()).toBe(0);
  });

  it('equals the closed form sigmoid(v) * prod sigmoid(v_k) at init', () => {
    const v = [-3, -0.4, 0, 0.7, 2.5, 6];
    const g = new LSAS({ channels: 3, order: 2 }).call(tensor(v, { shape: [2, 3] }));
    const want = v.map((x) => {
      const s1 = 0.5 * x - 0.5;
      const s2 = 0.5 * s1 - 0.5;
      return sig(x) * sig(s1) * sig(s2);
    });
    arr(g).forEach((x, i) => expect(x).toBeCloseTo(want[i]!, 6));
    // At v = 0 the first factor is sigmoid(-0.5) = 0.3775.
    expect(arr(g)[2]! / sig(0)).toBeCloseTo(sig(-0.5) * sig(-0.75), 6);
  });

  it('lowers the gate with every extra order, for any weights', () => {
    const gen = new Generator(3);
    const v = randn([4, 6], { generator: gen }).mul(3);
    const deep = new LSAS({ channels: 6, order: 3 });
    randomizeChain(deep, gen);
    let prev = arr(sigmoid(v));
    for (let n = 1; n <= 3; n++) {
      const l = new LSAS({ channels: 6, order: n });
      l.loadStateDict(new Map([...deep.stateDict()].filter(([k]) => Number(k.slice(1)) <= n)));
      const cur = arr(l.call(v));
      cur.forEach((x, i) => {
        expect(x).toBeGreaterThan(0);
        expect(x).toBeLessThan(prev[i]!);
      });
      prev = cur;
    }
  });

  it('rejects bad options and logits', () => {
    expect(() => new LSAS({ channels: 0 })).toThrow(/channels/);
    expect(() => new LSAS({ channels: 4, order: -1 })).toThrow(/order/);
    expect(() => new LSAS({ channels: 4 }).call(randn([2, 5]))).toThrow(/\[N, 4\]/);
  });
});

describe('LSAS-SE block', () => {
  function seTwin(channels: number, reduction: number, order: number, seed: number) {
    const se = new SEBlock(channels, { reduction, generator: new Generator(seed) });
    const block = lsasSEBlock(channels, { reduction, order, generator: new Generator(seed + 1) });
    block.loadStateDict(new Map([...se.stateDict()].map(([k, t]) => [`base.${k}`, t])), { strict: false });
    return { se, block };
  }

  it('with order 0 equals SE exactly (same weights)', () => {
    const { se, block } = seTwin(16, 4, 0, 1);
    const x = randn([3, 16, 5, 5], { generator: new Generator(2) });
    expect(arr(block.call(x))).toEqual(arr(se.call(x)));
    const plain = new SEAttention(16, { reduction: 4 });
    plain.loadStateDict(se.stateDict());
    expect(arr(plain.call(x))).toEqual(arr(se.call(x)));
  });

  it('reduces to SE when the sub-attentions are saturated at 1 (w = 0, b = 40)', () => {
    const { se } = seTwin(16, 4, 0, 5);
    const block = lsasSEBlock(16, { reduction: 4, order: 2, initW: 0, initB: 40 });
    block.loadStateDict(new Map([...se.stateDict()].map(([k, t]) => [`base.${k}`, t])), { strict: false });
    const x = randn([2, 16, 4, 4], { generator: new Generator(6) });
    expect(arr(block.call(x))).toEqual(arr(se.call(x)));
  });

  it('maps N x C x H x W to itself with a gate N x C in (0, 1) that depends on the input', () => {
    const block = lsasSEBlock(32, { order: 1, generator: new Generator(0) });
    const x1 = randn([2, 32, 6, 6], { generator: new Generator(1) });
    const x2 = randn([2, 32, 6, 6], { generator: new Generator(2) }).mul(3);
    expect(block.call(x1).shape).toEqual([2, 32, 6, 6]);
    const g1 = arr(block.gate(x1));
    const g2 = arr(block.gate(x2));
    expect(block.gate(x1).shape).toEqual([2, 32]);
    for (const v of [...g1, ...g2]) {
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThan(1);
    }
    expect(Math.max(...g1.map((v, i) => Math.abs(v - g2[i]!)))).toBeGreaterThan(1e-3);
  });

  it('has SE + 2 C n parameters', () => {
    for (const [c, n] of [[64, 1], [256, 2], [16, 3]] as const) {
      expect(lsasSEBlock(c, { order: n }).numParameters()).toBe(seBlock(c).numParameters() + 2 * c * n);
    }
    expect(seBlock(64).numParameters()).toBe(64 * 4 + 4 + 4 * 64 + 64);
  });

  it('withLSAS needs a module exposing logits', () => {
    expect(() => withLSAS(new nn.ReLU() as never)).toThrow(/logits/);
    expect(withLSAS(new SEAttention(8, { reduction: 2 }), { order: 2 }).order).toBe(2);
  });

  it('matches PyTorch (forward, gate and gradients, float64)', () => {
    type Flat = { shape: number[]; data: number[] };
    const fx = JSON.parse(readFileSync(new URL('./fixtures/lsas_se.json', import.meta.url), 'utf8')) as {
      channels: number; reduction: number; order: number; state: Record<string, Flat>; input: Flat; gate: Flat; output: Flat; upstream: Flat; grad: Record<string, Flat>;
    };
    const T = (f: Flat, requiresGrad = false) => tensor(f.data, { shape: f.shape, dtype: 'float64', requiresGrad });
    const block = lsasSEBlock(fx.channels, { reduction: fx.reduction, order: fx.order, dtype: 'float64' });
    block.loadStateDict(new Map(Object.entries(fx.state).map(([k, f]) => [k, T(f)])));
    const x = T(fx.input, true);
    const y = block.call(x);
    const close = (got: Tensor, want: Flat) => {
      expect(got.shape).toEqual(want.shape);
      arr(got).forEach((v, i) => expect(Math.abs(v - want.data[i]!)).toBeLessThan(1e-12));
    };
    close(y, fx.output);
    close(block.gate(x), fx.gate);
    const params = block.stateDict();
    const names = Object.keys(fx.state);
    const grads = grad(y.mul(T(fx.upstream)).sum(), [x, ...names.map((k) => params.get(k)!)]);
    close(grads[0]!, fx.grad.input!);
    names.forEach((k, i) => close(grads[i + 1]!, fx.grad[k]!));
  });

  it('has finite-difference gradients for w_k, b_k, fc1 and fc2 (float64)', () => {
    const g = new Generator(11);
    const block = lsasSEBlock(6, { reduction: 2, order: 2, dtype: 'float64', generator: g });
    randomizeChain(block.lsas, g);
    const x = randn([2, 6, 3, 3], { generator: g, dtype: 'float64' });
    const up = randn([2, 6, 3, 3], { generator: g, dtype: 'float64' });
    const loss = () => block.call(x).mul(up).sum();
    const params = [...block.stateDict()];
    const analytic = grad(loss(), params.map(([, t]) => t));
    params.forEach(([name, p], pi) => {
      const ga = arr(analytic[pi]!);
      const base = arr(p);
      for (const i of [0, base.length - 1]) {
        const at = (d: number) => {
          const v = base.slice();
          v[i]! += d;
          noGrad(() => p.assign(tensor(v, { shape: p.shape, dtype: 'float64' })));
          return loss().item();
        };
        const h = 1e-6;
        const fd = (at(h) - at(-h)) / (2 * h);
        noGrad(() => p.assign(tensor(base, { shape: p.shape, dtype: 'float64' })));
        expect(Math.abs(fd - ga[i]!), `${name}[${i}]`).toBeLessThan(1e-7 * Math.max(1, Math.abs(fd)));
      }
    });
  });
});

describe('ResNet presets', () => {
  it("give the official CIFAR ResNet-164 parameter counts (research notes 1.7)", () => {
    const r164 = (numClasses: number, attention: 'none' | 'se' | 'lsas-se', preset?: 'official' | 'allStages') =>
      lsasResNet({ depth: 164, block: 'bottleneck', numClasses, attention, preset }).numParameters();
    expect(r164(100, 'none')).toBe(1_727_284);
    expect(r164(100, 'se')).toBe(1_929_388);
    expect(r164(100, 'lsas-se')).toBe(1_888_852);
    expect(r164(10, 'se')).toBe(1_906_258);
    expect(r164(10, 'lsas-se')).toBe(1_865_722);
    // allStages: SE everywhere plus w, b for 18 blocks at C = 64, 128, 256.
    expect(r164(100, 'lsas-se', 'allStages')).toBe(1_929_388 + 2 * 18 * (64 + 128 + 256));
  });

  it('place attention by preset and stages', () => {
    expect(attentionStages({ attention: 'lsas-se' })).toEqual([3]);
    expect(attentionStages({ attention: 'lsas-se', preset: 'allStages' })).toEqual([1, 2, 3]);
    expect(attentionStages({ attention: 'se' })).toEqual([1, 2, 3]);
    expect(attentionStages({ attention: 'lsas-se', stages: [2, 3] })).toEqual([2, 3]);
    const net = lsasResNet({ depth: 14, inChannels: 1, order: 2, reduction: 4 });
    const kinds = net.blocks().map((b) => (b.attention instanceof LSASAttention ? b.attention.order : b.attention === null ? null : -1));
    expect(kinds).toEqual([null, null, null, null, 2, 2]);
    expect(() => lsasResNet({ depth: 8, stages: [4] })).toThrow(/stages/);
  });

  it('give the official ImageNet SE / LSAS-SE ResNet-50 counts of the torch twin (layer3 and layer4)', () => {
    // tools/golden/imagenet_resnet_counts.py builds the torchvision-layout twins in torch and counts them.
    const fx = JSON.parse(readFileSync(new URL('./fixtures/resnet50_counts.json', import.meta.url), 'utf8')) as { se_resnet50: number; lsas_se_resnet50_official: number; lsas_se_resnet50_all_stages: number; lsas_se_resnet50_official_order2: number };
    expect(fx.se_resnet50).toBe(28_088_024);
    expect(fx.lsas_se_resnet50_official).toBe(27_953_960);
    const net = lsasResNet50();
    expect(net.numParameters()).toBe(fx.lsas_se_resnet50_official);
    // One 28M-parameter build keeps the test short: the SE baseline is this net without w, b and with
    // SE blocks added in layer1 and layer2 (the twin builds it whole).
    const wbHere = net.blocks().reduce((a, b) => a + (b.attention instanceof LSASAttention ? b.attention.lsas.numParameters() : 0), 0);
    const seEarly = net.blocks().slice(0, 7).reduce((a, b) => a + seBlock(b.outChannels).numParameters(), 0);
    expect(net.numParameters() - wbHere + seEarly).toBe(fx.se_resnet50);
    // 3 + 4 blocks of layer1, layer2 without attention, then 6 + 3 LSAS-SE blocks.
    expect(net.blocks().map((b) => b.attention instanceof LSASAttention)).toEqual([...new Array<boolean>(7).fill(false), ...new Array<boolean>(9).fill(true)]);
    // The other placements follow from SE + 2 C n per LSAS block (the twin agrees).
    const wb = (blocks: number[], order: number) => 2 * order * blocks.reduce((a, n, s) => a + n * 256 * 2 ** s, 0);
    expect(fx.lsas_se_resnet50_all_stages).toBe(fx.se_resnet50 + wb([3, 4, 6, 3], 1));
    expect(fx.lsas_se_resnet50_official_order2).toBe(fx.lsas_se_resnet50_official + wb([0, 0, 6, 3], 1));
    expect(attentionStages({ attention: 'lsas-se', preset: 'allStages' }, 4)).toEqual([1, 2, 3, 4]);
    expect(attentionStages({ attention: 'se' }, 4)).toEqual([1, 2, 3, 4]);
    expect(() => lsasResNet50({ stages: [5] })).toThrow(/stages must be within 1..4/);
  });

  it('watchGates reports the gates of every attention block per stage', () => {
    const net = lsasResNet({ depth: 8, inChannels: 1, attention: 'lsas-se', preset: 'allStages', order: 1, reduction: 4, width: 0.5, generator: new Generator(0) });
    net.eval();
    const watch = watchGates(net);
    net.call(randn([2, 1, 12, 12], { generator: new Generator(1) }));
    expect([...watch.latest.keys()]).toEqual(['layer1.0.attention', 'layer2.0.attention', 'layer3.0.attention']);
    const l3 = watch.latest.get('layer3.0.attention')!;
    expect(l3.shape).toEqual([2, 32]);
    const stage = watch.stageMeans();
    expect([...stage.keys()]).toEqual([1, 2, 3]);
    expect(stage.get(3)).toBeCloseTo(l3.values.reduce((a, b) => a + b, 0) / l3.values.length, 6);
    // At init w = 0.5, b = -0.5 the gate is below 0.5 * sigmoid(-0.5) + a little.
    for (const v of stage.values()) expect(v).toBeLessThan(0.5);
    watch.remove();
    net.call(randn([1, 1, 12, 12]));
    expect(watch.means().get('layer1.0.attention')).toBeCloseTo(stage.get(1)!, 6);
  });
});
