/**
 * ASR's invariants (arXiv 2304.06345; research notes part 2.7): exact folding of the gate into the
 * BN in float32 and float64, whole-network equivalence after training, the deployed model is the
 * plain backbone (parameter count, names, state loads into a model built without ASR), the gate is
 * batch-independent, gradients reach psi and the gate, init values.
 */
import { describe, expect, it } from 'vitest';
import { crossEntropy, Generator, grad, memory, mul, nn, noGrad, optim, randint, randn, scope, tensor, type DType, type Tensor } from '@methodzoo/core';
import { CifarResNet, SEBlock } from '@methodzoo/models';
import { ASRNorm, asrify, asrLayers, ECAGate, ecaKernelSize, isReparameterized, reparameterize, SEGate, stripeStats, toTrain } from '../src/index.js';

function maxRelDiff(a: Tensor, b: Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let scale = 1;
  for (const v of y) scale = Math.max(scale, Math.abs(Number(v)));
  let m = 0;
  for (let i = 0; i < y.length; i++) m = Math.max(m, Math.abs(Number(x[i]) - Number(y[i])) / scale);
  return m;
}

/** Random gamma, beta, running stats (var > 0), psi and gate weights, as after training. */
function randomise(m: nn.Module, g: Generator): void {
  noGrad(() =>
    scope(() => {
      for (const [name, t] of m.stateDict()) {
        if (t.dtype === 'int32') continue;
        const r = randn(t.shape, { dtype: t.dtype, generator: g });
        const v = name.endsWith('running_var') ? r.abs().add(0.5) : name.endsWith('psi') ? r.mul(0.3).add(0.1) : r.mul(0.5);
        t.assign(v);
      }
    }),
  );
}

function smallResNet(dtype: DType, seed: number): CifarResNet {
  return new CifarResNet({ depth: 8, inChannels: 1, width: 0.5, numClasses: 10, dtype, generator: new Generator(seed) });
}

describe('ASRNorm layer', () => {
  it('initialises psi to 0.1 and, with zero SE weights, a = sigmoid(b2)', () => {
    const norm = new ASRNorm(32, { generator: new Generator(0) });
    expect(norm.psi.shape).toEqual([1, 32, 1, 1]);
    expect([...norm.psi.dataSync()].every((v) => Math.abs(v - 0.1) < 1e-7)).toBe(true);
    const se = norm.attention as SEGate;
    expect(se.hidden).toBe(2);
    noGrad(() => {
      se.fc1.weight.assign(se.fc1.weight.mul(0));
      se.fc2.weight.assign(se.fc2.weight.mul(0));
    });
    const a = norm.gate().dataSync();
    const b2 = se.fc2.bias!.dataSync();
    for (let c = 0; c < 32; c++) expect(a[c]).toBeCloseTo(1 / (1 + Math.exp(-b2[c]!)), 6);
    // BN starts at weight 1, bias 0: the ASR layer starts as the gated identity-BN.
    expect([...norm.bn.weight!.dataSync()].every((v) => v === 1)).toBe(true);
  });

  it.each([
    ['float32', 1e-5],
    ['float64', 1e-12],
  ] as const)('folds exactly into the BN affine parameters in eval mode (%s)', (dtype, tol) => {
    const g = new Generator(1);
    for (const attention of ['se', 'eca'] as const) {
      const norm = new ASRNorm(48, { dtype, attention, generator: g });
      randomise(norm, g);
      norm.eval();
      const x = randn([5, 48, 3, 3], { dtype, generator: g }).mul(2).add(0.3);
      const bn = norm.toBatchNorm();
      const before = norm.call(x);
      const after = bn.call(x);
      expect(maxRelDiff(after, before)).toBeLessThan(tol);
      expect(bn.training).toBe(false);
      expect(bn.numParameters()).toBe(2 * 48);
    }
  });

  it('folds exactly in train mode too (batch statistics are taken before the gate)', () => {
    const g = new Generator(2);
    const norm = new ASRNorm(16, { dtype: 'float64', generator: g });
    randomise(norm, g);
    const x = randn([4, 16, 3, 3], { dtype: 'float64', generator: g });
    const bn = norm.toBatchNorm().train();
    const y1 = norm.call(x);
    const y2 = bn.call(x);
    expect(maxRelDiff(y2, y1)).toBeLessThan(1e-12);
    // Both updated their running statistics the same way.
    expect(maxRelDiff(bn.running_var!, norm.bn.running_var!)).toBeLessThan(1e-14);
  });

  it('applies the same gate to every sample and every batch size', () => {
    const g = new Generator(3);
    const norm = new ASRNorm(16, { dtype: 'float64', generator: g });
    randomise(norm, g);
    norm.eval();
    const a = norm.gate().dataSync();
    for (const v of a) expect(v > 0 && v < 1).toBe(true);
    for (const n of [1, 3, 7]) {
      const x = randn([n, 16, 2, 2], { dtype: 'float64', generator: g });
      const ratio = norm.call(x).div(norm.bn.call(x)).dataSync();
      for (let i = 0; i < ratio.length; i++) {
        const c = Math.floor(i / 4) % 16;
        expect(Math.abs(ratio[i]! - a[c]!)).toBeLessThan(1e-12);
      }
    }
    expect([...norm.gate().dataSync()]).toEqual([...a]);
  });

  it('sends gradients to psi, the gate weights and the BN affine parameters; psi matches finite differences', () => {
    const g = new Generator(4);
    const norm = new ASRNorm(16, { dtype: 'float64', attention: (c, o) => new SEGate(c, { ...o, reduction: 4 }), generator: g });
    randomise(norm, g);
    const x = randn([3, 16, 2, 2], { dtype: 'float64', generator: g });
    const up = randn([3, 16, 2, 2], { dtype: 'float64', generator: g });
    const loss = () => mul(norm.call(x), up).sum();
    loss().backward();
    for (const [name, p] of norm.namedParameters()) {
      const gr = p.grad;
      expect(gr, name).toBeTruthy();
      expect(Math.max(...[...gr!.dataSync()].map(Math.abs)), name).toBeGreaterThan(1e-8);
    }
    const analytic = norm.psi.grad!.dataSync();
    const eps = 1e-6;
    for (const c of [0, 5, 15]) {
      const at = (d: number) =>
        noGrad(() => {
          const e = norm.psi.dataSync().slice();
          e[c]! += d;
          norm.psi.assign(tensor(e, { shape: [1, 16, 1, 1], dtype: 'float64' }));
          const v = loss().item();
          e[c]! -= d;
          norm.psi.assign(tensor(e, { shape: [1, 16, 1, 1], dtype: 'float64' }));
          return v;
        });
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      expect(Math.abs(fd - analytic[c]!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
    }
  });

  it('rejects a gate that breaks the N x C x 1 x 1 contract, and non-affine BNs', () => {
    class Wide extends nn.Module {
      forward(x: Tensor): Tensor {
        return x.mean([2, 3]);
      }
    }
    const norm = new ASRNorm(8, { attention: () => new Wide() });
    expect(() => norm.call(randn([2, 8, 2, 2]))).toThrow(/gate \[1, 8, 1, 1\], got \[1, 8\]/);
    expect(() => new ASRNorm(8, { affine: false })).toThrow(/affine/);
  });
});

describe('gates', () => {
  it('SE: hidden round(C / r); ECA: adaptive odd kernel and k parameters', () => {
    expect(new SEGate(64, { reduction: 16 }).hidden).toBe(4);
    expect(new SEGate(24, { reduction: 16 }).hidden).toBe(2);
    expect([16, 32, 64, 128, 256, 512].map(ecaKernelSize)).toEqual([3, 3, 3, 5, 5, 5]);
    const eca = new ECAGate(64);
    expect(eca.numParameters()).toBe(3);
    expect(eca.call(randn([2, 64, 3, 3])).shape).toEqual([2, 64, 1, 1]);
  });

  it('ECA is a 1-D conv across the pooled channels', () => {
    const eca = new ECAGate(5, { kernelSize: 3, dtype: 'float64' });
    noGrad(() => eca.conv.weight.assign(tensor([0.5, -1, 2], { shape: [1, 1, 3], dtype: 'float64' })));
    const x = tensor([1, 2, 3, 4, 5], { shape: [1, 5, 1, 1], dtype: 'float64' });
    const z = [1, 2, 3, 4, 5];
    const expected = z.map((_, c) => 0.5 * (z[c - 1] ?? 0) - 1 * z[c]! + 2 * (z[c + 1] ?? 0)).map((v) => 1 / (1 + Math.exp(-v)));
    const got = eca.call(x).dataSync();
    expected.forEach((v, c) => expect(got[c]).toBeCloseTo(v, 12));
  });
});

/** Three SGD steps on random data so running statistics, psi and the gates move off their init. */
function trainSteps(net: nn.Module, g: Generator, steps = 3, dtype: DType = 'float32', momentum = 0.9): void {
  const opt = new optim.SGD(net.parameters(), { lr: 0.05, momentum, weightDecay: 1e-4 });
  net.train();
  for (let i = 0; i < steps; i++) {
    scope(() => {
      const x = randn([6, 1, 12, 12], { dtype, generator: g });
      const y = randint(0, 10, [6], { generator: g });
      opt.zeroGrad();
      crossEntropy(net.call(x) as Tensor, y).backward();
      opt.step();
    });
  }
}

describe('whole network', () => {
  it.each([
    ['float32', 1e-4],
    ['float64', 1e-10],
  ] as const)('reparameterised ResNet gives the same eval logits after training (N = 5 and N = 1, %s)', (dtype, tol) => {
    const g = new Generator(5);
    const net = smallResNet(dtype, 5);
    const plainCount = net.numParameters();
    const plainKeys = [...net.stateDict().keys()];
    const names = asrify(net, { reduction: 4, generator: g });
    expect(names).toEqual(['layer1.0.bn2', 'layer2.0.bn2', 'layer3.0.bn2']);
    // psi (C) and the SE gate per ASR layer: 8+ (8*2+2+2*8+8), 16+(16*4+4+4*16+16), 32+(32*8+8+8*32+32)
    expect(net.numParameters() - plainCount).toBe(50 + 164 + 584);
    trainSteps(net, g, 3, dtype);
    net.eval();
    const xs = [randn([5, 1, 12, 12], { dtype, generator: g }), randn([1, 1, 12, 12], { dtype, generator: g })];
    const before = xs.map((x) => noGrad(() => net.call(x)));
    reparameterize(net);
    expect(isReparameterized(net)).toBe(true);
    expect(asrLayers(net)).toHaveLength(0);
    expect(net.numParameters()).toBe(plainCount);
    expect([...net.stateDict().keys()]).toEqual(plainKeys);
    xs.forEach((x, i) => expect(maxRelDiff(noGrad(() => net.call(x)), before[i]!)).toBeLessThan(tol));
    // The deployed state loads into a ResNet built without ASR and computes the same logits.
    const plain = smallResNet(dtype, 99);
    plain.loadStateDict(net.stateDict());
    plain.eval();
    xs.forEach((x, i) => expect(maxRelDiff(noGrad(() => plain.call(x)), before[i]!)).toBeLessThan(tol));
  });

  it('asrify with a custom where never wraps a BN twice, and names what it could not match', () => {
    const net = smallResNet('float32', 12);
    const all = () => true;
    expect(asrify(net, { where: all, reduction: 4 })).toHaveLength(3 * 2 + 2 + 1);
    expect(() => asrify(net, { where: all })).toThrow(/no BatchNorm2d matched/);
    expect(asrLayers(net)).toHaveLength(9);
  });

  it('keepTraining round trip: a second reparameterisation reflects further training', () => {
    const g = new Generator(6);
    const net = smallResNet('float64', 6);
    asrify(net, { reduction: 4, generator: g });
    trainSteps(net, g, 2, 'float64');
    reparameterize(net, { keepTraining: true });
    const first = (net.layer2.at(0) as unknown as { bn2: nn.BatchNorm2d }).bn2.weight!.dataSync().slice();
    expect(() => reparameterize(net)).toThrow(/already reparameterized/);
    toTrain(net);
    expect(isReparameterized(net)).toBe(false);
    expect(asrLayers(net)).toHaveLength(3);
    trainSteps(net, g, 2, 'float64');
    net.eval();
    const x = randn([3, 1, 12, 12], { dtype: 'float64', generator: g });
    const before = noGrad(() => net.call(x));
    reparameterize(net, { keepTraining: true });
    const second = (net.layer2.at(0) as unknown as { bn2: nn.BatchNorm2d }).bn2.weight!.dataSync();
    let moved = 0;
    for (let i = 0; i < first.length; i++) moved = Math.max(moved, Math.abs(second[i]! - first[i]!));
    expect(moved).toBeGreaterThan(1e-4);
    expect(maxRelDiff(noGrad(() => net.call(x)), before)).toBeLessThan(1e-10);
  });

  it('foldIntoConv: conv + ASR-BN become one conv with bias, same eval logits', () => {
    const g = new Generator(7);
    const net = smallResNet('float64', 7);
    asrify(net, { reduction: 4, attention: 'eca', generator: g });
    trainSteps(net, g, 2, 'float64');
    net.eval();
    const x = randn([2, 1, 12, 12], { dtype: 'float64', generator: g });
    const before = noGrad(() => net.call(x));
    const plainCount = smallResNet('float64', 0).numParameters();
    reparameterize(net, { foldIntoConv: true });
    const block = net.layer1.at(0) as unknown as { conv2: nn.Conv2d; bn2: nn.Module };
    expect(block.bn2).toBeInstanceOf(nn.Identity);
    expect(block.conv2.bias!.shape).toEqual([8]);
    // Each folded BN (2C) becomes a conv bias (C).
    expect(net.numParameters()).toBe(plainCount - (8 + 16 + 32));
    expect(maxRelDiff(noGrad(() => net.call(x)), before)).toBeLessThan(1e-10);
  });

  it('useBoth keeps a live SE that survives deployment', () => {
    const g = new Generator(8);
    const net = smallResNet('float32', 8);
    const plainCount = net.numParameters();
    asrify(net, { reduction: 4, useBoth: true, generator: g });
    const se = net.blocks().map((b) => b.attention);
    expect(se.every((m) => m instanceof SEBlock)).toBe(true);
    const seCount = se.reduce((n, m) => n + m!.numParameters(), 0);
    reparameterize(net);
    expect(net.numParameters()).toBe(plainCount + seCount);
  });

  it('gradients reach psi and the gate weights through the whole network', () => {
    const g = new Generator(9);
    const net = smallResNet('float64', 9);
    asrify(net, { reduction: 4, generator: g });
    const x = randn([4, 1, 12, 12], { dtype: 'float64', generator: g });
    const y = randint(0, 10, [4], { generator: g });
    const [norm] = asrLayers(net).map(([, m]) => m);
    const se = norm!.attention as SEGate;
    const grads = grad(crossEntropy(net.call(x), y), [norm!.psi, se.fc1.weight, se.fc2.bias!]);
    for (const gr of grads) expect(Math.max(...[...gr!.dataSync()].map(Math.abs))).toBeGreaterThan(1e-10);
  });

  it('does not leak tensors across asrify, training and reparameterize', () => {
    const g = new Generator(10);
    const before = memory().tensors;
    scope(() => {
      const net = smallResNet('float32', 10);
      asrify(net, { reduction: 4, generator: g });
      // No momentum: its buffers live as long as the optimiser, which is not what is checked here.
      trainSteps(net, g, 1, 'float32', 0);
      reparameterize(net, { keepTraining: true });
      toTrain(net);
      reparameterize(net);
      net.dispose();
    });
    expect(memory().tensors).toBe(before);
  });
});

describe('stripeStats', () => {
  it('an ASR gate is a perfect stripe; a live SE gate varies with the input', () => {
    const g = new Generator(11);
    const net = new CifarResNet({ depth: 8, inChannels: 1, width: 0.5, generator: g, attention: (c) => new SEBlock(c, { reduction: 4, generator: g }) });
    asrify(net, { reduction: 4, generator: g });
    const x = randn([20, 1, 12, 12], { generator: g });
    const stats = stripeStats(net, x, { batchSize: 8 });
    expect(stats.map((s) => [s.name, s.kind])).toEqual([
      ['layer1.0.bn2', 'asr'],
      ['layer1.0.attention', 'live'],
      ['layer2.0.bn2', 'asr'],
      ['layer2.0.attention', 'live'],
      ['layer3.0.bn2', 'asr'],
      ['layer3.0.attention', 'live'],
    ]);
    for (const s of stats) {
      expect(s.matrix!.length).toBe(20 * s.channels);
      expect(s.heatmap!.height).toBe(20);
      expect(s.input.meanStd).toBeGreaterThan(0);
      if (s.kind === 'asr') expect(s.gate.meanStd).toBe(0);
      else expect(s.gate.meanStd).toBeGreaterThan(0);
    }
    expect(net.training).toBe(true);
  });
});
