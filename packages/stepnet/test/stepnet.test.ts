import { describe, expect, it } from 'vitest';
import { Generator, grad, nn, noGrad, randn, sigmoid, tensor, zeros, type Tensor } from '@methodzoo/core';
import { Bottleneck, BasicBlock, CifarResNet, SEBlock } from '@methodzoo/models';
import { ResidualStep, scaleResidual, StepMLP, StepResNet, StepSizeAdaptor, stepMemory, type Activation, type BlockKind } from '../src/index.js';

const arr = (t: Tensor) => Array.from(t.dataSync());
const maxDiff = (a: Tensor, b: Tensor) => {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
};
const inputFor = (kind: BlockKind, c: number, g: Generator, n = 3) => (kind === 'mlp' ? randn([n, c], { generator: g }) : randn([n, c, 5, 5], { generator: g }));
/** Randomises BN affine parameters and running stats so eval-mode blocks are not near-identity. */
function shakeNorms(m: nn.Module, g: Generator): void {
  for (const mod of m.modules()) {
    if (mod instanceof nn.BatchNorm1d || mod instanceof nn.BatchNorm2d) {
      const c = mod.numFeatures;
      mod.weight!.assign(randn([c], { generator: g }).mul(0.3).add(1));
      mod.bias!.assign(randn([c], { generator: g }).mul(0.2));
      mod.running_mean!.assign(randn([c], { generator: g }).mul(0.1));
      mod.running_var!.assign(randn([c], { generator: g }).mul(0.1).abs().add(0.8));
    }
  }
}

const CASES: [BlockKind, Activation, number, number, number][] = [
  ['basic', 'post', 4, 4, 1],
  ['basic', 'pre', 4, 8, 2],
  ['bottleneck', 'post', 8, 2, 1],
  ['bottleneck', 'pre', 4, 2, 2],
  ['mlp', 'post', 6, 6, 1],
  ['mlp', 'pre', 6, 10, 1],
];

describe('StepSizeAdaptor', () => {
  it('gives step sizes in (0, 1) of shape [N, C] for 4-D and 2-D residuals', () => {
    const g = new Generator(0);
    const ad = new StepSizeAdaptor(8, { reduction: 4, generator: g });
    const a4 = ad.step(randn([3, 8, 4, 4], { generator: g }).mul(5));
    const a2 = ad.step(randn([3, 8], { generator: g }).mul(5));
    for (const a of [a4, a2]) {
      expect(a.shape).toEqual([3, 8]);
      for (const v of arr(a)) expect(v > 0 && v < 1).toBe(true);
    }
    expect(ad.hidden).toBe(2);
    expect([...ad.stateDict().keys()]).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    expect([...new StepSizeAdaptor(8, { kind: 'r1' }).stateDict().keys()]).toContain('stateFc.weight');
    expect([...new StepSizeAdaptor(8, { kind: 'r2' }).stateDict().keys()]).toContain('memoryFc.weight');
  });

  it('SE kind equals @methodzoo/models SEBlock with the same weights', () => {
    const g = new Generator(1);
    const se = new SEBlock(16, { reduction: 4, generator: g });
    const ad = new StepSizeAdaptor(16, { reduction: 4 });
    ad.loadStateDict(se.stateDict());
    const f = randn([2, 16, 3, 3], { generator: g });
    expect(maxDiff(ad.call(f), se.call(f))).toBeLessThan(1e-6);
  });

  it('R1 reduces to SE when the weights on GAP(state) are zero, and differs otherwise', () => {
    const g = new Generator(2);
    const se = new StepSizeAdaptor(8, { kind: 'se', reduction: 2, generator: g });
    const r1 = new StepSizeAdaptor(8, { kind: 'r1', reduction: 2, generator: g });
    r1.loadStateDict(se.stateDict(), { strict: false });
    const f = randn([4, 8, 3, 3], { generator: g });
    const s = randn([4, 8, 3, 3], { generator: g }).mul(3);
    expect(maxDiff(r1.step(f, s), se.step(f))).toBeGreaterThan(1e-3);
    r1.stateFc!.weight.assign(zeros([4, 8]));
    expect(maxDiff(r1.step(f, s), se.step(f))).toBe(0);
  });

  it('R2 reduces to SE without memory or with zero memory weights', () => {
    const g = new Generator(3);
    const se = new StepSizeAdaptor(8, { kind: 'se', reduction: 2, generator: g });
    const r2 = new StepSizeAdaptor(8, { kind: 'r2', reduction: 2, generator: g });
    r2.loadStateDict(se.stateDict(), { strict: false });
    const f = randn([4, 8], { generator: g });
    const m = randn([4, 2], { generator: g }).mul(3);
    expect(maxDiff(r2.step(f), se.step(f))).toBe(0);
    expect(maxDiff(r2.step(f, null, m), se.step(f))).toBeGreaterThan(1e-3);
    r2.memoryFc!.weight.assign(zeros([4, 2]));
    expect(maxDiff(r2.step(f, null, m), se.step(f))).toBe(0);
  });

  it('rejects mismatched shapes with errors that name them', () => {
    const ad = new StepSizeAdaptor(8, { kind: 'r1', reduction: 2 });
    expect(() => ad.step(zeros([2, 6, 3, 3]), zeros([2, 6, 3, 3]))).toThrow(/8 channels, got \[2, 6, 3, 3\]/);
    expect(() => ad.step(zeros([2, 8, 3, 3]))).toThrow(/needs the state/);
    expect(() => ad.step(zeros([2, 8, 3, 3]), zeros([2, 8, 2, 2]))).toThrow(/state must have the residual's shape \[2, 8, 3, 3\], got \[2, 8, 2, 2\]/);
    expect(() => scaleResidual(zeros([2, 8, 3, 3]), zeros([2, 4]))).toThrow(/got step \[2, 4\] for residual \[2, 8, 3, 3\]/);
    expect(() => new StepSizeAdaptor(8, { kind: 'x' as never })).toThrow(/kind must be one of se, r1, r2/);
    const r2 = new StepSizeAdaptor(8, { kind: 'r2', reduction: 2 });
    expect(() => r2.step(zeros([2, 8]), null, zeros([2, 3]))).toThrow(/memory must be \[2, 2\], got \[2, 3\]/);
  });
});

describe('ResidualStep', () => {
  it.each(CASES)('%s/%s: step fixed to 1 equals the plain block with the same weights', (kind, act, inp, planes, stride) => {
    const g = new Generator(10);
    const se = new ResidualStep(inp, planes, { block: kind, activation: act, adaptor: 'se', reduction: 2, stride, generator: g });
    const plain = new ResidualStep(inp, planes, { block: kind, activation: act, adaptor: 'none', stride });
    shakeNorms(se, g);
    plain.loadStateDict(se.stateDict(), { strict: false });
    se.eval();
    plain.eval();
    const x = inputFor(kind, inp, g);
    se.fixedStep = 1;
    const y1 = noGrad(() => se.call(x));
    const y0 = noGrad(() => plain.call(x));
    expect(maxDiff(y1, y0)).toBe(0);
    se.fixedStep = null;
    expect(maxDiff(noGrad(() => se.call(x)), y0)).toBeGreaterThan(1e-4);
  });

  it.each(CASES)('%s/%s: step fixed to 0 is the shortcut path and the branch gets zero gradient', (kind, act, inp, planes, stride) => {
    const g = new Generator(11);
    const b = new ResidualStep(inp, planes, { block: kind, activation: act, adaptor: 'r1', reduction: 2, stride, generator: g });
    shakeNorms(b, g);
    b.eval();
    b.fixedStep = 0;
    const x = inputFor(kind, inp, g);
    const y = b.call(x);
    const s = noGrad(() => b.shortcut(x));
    expect(maxDiff(y, act === 'post' ? s.relu() : s)).toBe(0);
    y.mul(randn(y.shape, { generator: g })).sum().backward();
    const branch = b.namedParameters().filter(([n]) => !n.startsWith('downsample') && !n.startsWith('attention'));
    expect(branch.length).toBeGreaterThan(0);
    for (const [n, p] of branch) {
      expect(p.grad, n).not.toBeNull();
      expect(arr(p.grad!).every((v) => v === 0), n).toBe(true);
    }
    const proj = b.namedParameters().filter(([n]) => n.startsWith('downsample'));
    for (const [, p] of proj) expect(arr(p.grad!).some((v) => v !== 0)).toBe(true);
  });

  it('post-activation bottleneck with SE equals @methodzoo/models Bottleneck + SEBlock', () => {
    const g = new Generator(12);
    const ref = new Bottleneck(8, 4, { stride: 2, attention: new SEBlock(16, { reduction: 4, generator: g }), generator: g });
    const step = new ResidualStep(8, 4, { block: 'bottleneck', adaptor: 'se', reduction: 4, stride: 2 });
    expect([...step.stateDict().keys()]).toEqual([...ref.stateDict().keys()]);
    step.loadStateDict(ref.stateDict());
    const x = randn([2, 8, 6, 6], { generator: g });
    expect(maxDiff(step.call(x), ref.call(x))).toBeLessThan(1e-5);
    const plainRef = new BasicBlock(4, 4, { generator: g });
    const plain = new ResidualStep(4, 4, { block: 'basic' });
    plain.loadStateDict(plainRef.stateDict());
    const x2 = randn([2, 4, 5, 5], { generator: g });
    expect(maxDiff(plain.call(x2), plainRef.call(x2))).toBeLessThan(1e-5);
  });

  it('pre-activation keys follow bearpaw preresnet; shapes and errors', () => {
    const b = new ResidualStep(4, 2, { block: 'bottleneck', activation: 'pre', stride: 2 });
    expect([...b.namedParameters().map(([n]) => n)]).toEqual(['bn1.weight', 'bn1.bias', 'conv1.weight', 'bn2.weight', 'bn2.bias', 'conv2.weight', 'bn3.weight', 'bn3.bias', 'conv3.weight', 'downsample.0.weight']);
    expect(b.call(zeros([2, 4, 6, 6])).shape).toEqual([2, 8, 3, 3]);
    expect(b.keepsShape).toBe(false);
    expect(new ResidualStep(8, 8, { block: 'mlp' }).keepsShape).toBe(true);
    expect(() => b.call(zeros([2, 3, 6, 6]))).toThrow(/expected input \[N, 4, H, W\], got \[2, 3, 6, 6\]/);
    expect(() => new ResidualStep(4, 4, { block: 'mlp', stride: 2 })).toThrow(/stride must be 1 for 'mlp'/);
    expect(() => new ResidualStep(4, 4, { adaptor: 'cbam' as never })).toThrow(/adaptor must be 'none', 'se', 'r1', 'r2', got 'cbam'/);
  });

  it('emits the R2 memory [relative step, mean step size]', () => {
    const g = new Generator(13);
    const b = new ResidualStep(6, 6, { block: 'mlp', activation: 'pre', adaptor: 'se', reduction: 2, generator: g });
    const x = randn([3, 6], { generator: g });
    const o = b.forwardStep(x, null, true);
    const f = arr(o.residual);
    const a = arr(o.attention!);
    const xs = arr(x);
    const mem = arr(o.memory!);
    for (let n = 0; n < 3; n++) {
      let num = 0;
      let den = 0;
      let abar = 0;
      for (let c = 0; c < 6; c++) {
        num += (a[n * 6 + c]! * f[n * 6 + c]!) ** 2;
        den += xs[n * 6 + c]! ** 2;
        abar += a[n * 6 + c]! / 6;
      }
      expect(mem[2 * n]).toBeCloseTo(Math.sqrt(num) / (Math.sqrt(den) + 1e-8), 5);
      expect(mem[2 * n + 1]).toBeCloseTo(abar, 6);
    }
    // A plain block reports a mean step of exactly 1.
    expect(arr(stepMemory(tensor([[3, 4]]), tensor([[0, 5]]), null))).toEqual([1, 1]);
  });
});

describe('finite-difference gradients (float64)', () => {
  const dtype = 'float64' as const;
  /** Central differences of sum(y * w) w.r.t. every entry of t against autograd's gradient. */
  function check(loss: () => Tensor, t: Tensor, analytic: Tensor, h = 1e-6): void {
    const base = Float64Array.from(t.dataSync());
    const ga = analytic.dataSync();
    for (let i = 0; i < base.length; i++) {
      const at = (d: number) => {
        const v = Float64Array.from(base);
        v[i] = v[i]! + d;
        t.assign(tensor(v, { shape: t.shape, dtype }));
        return noGrad(() => loss().item());
      };
      const num = (at(h) - at(-h)) / (2 * h);
      expect(Math.abs(num - ga[i]!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(num)));
    }
    t.assign(tensor(base, { shape: t.shape, dtype }));
  }

  it.each(['r1', 'r2'] as const)('%s adaptor: parameters and input', (kind) => {
    const g = new Generator(20);
    const ad = new StepSizeAdaptor(4, { kind, reduction: 2, dtype, generator: g });
    const f = randn([2, 4, 2, 2], { generator: g, dtype }).requiresGrad_();
    const s = randn([2, 4, 2, 2], { generator: g, dtype });
    const m = randn([2, 2], { generator: g, dtype });
    const w = randn([2, 4, 2, 2], { generator: g, dtype });
    const loss = () => ad.call(f, kind === 'r1' ? s : null, kind === 'r2' ? m : null).mul(w).sum();
    const params = ad.parameters();
    const grads = grad(loss(), [f, ...params]);
    check(loss, f, grads[0]!);
    params.forEach((p, i) => check(loss, p, grads[i + 1]!));
  });

  it('R2 network: gradients flow through the threaded memory', () => {
    const g = new Generator(21);
    const net = new StepMLP({ inFeatures: 5, widths: [4, 4, 4], blocksPerStage: 1, adaptor: 'r2', activation: 'pre', reduction: 2, numClasses: 3, dtype, generator: g });
    net.eval();
    const x = randn([2, 5], { generator: g, dtype }).requiresGrad_();
    const loss = () => net.call(x).mul(tensor([[1, -2, 0.5], [0.3, 1, -1]], { dtype })).sum();
    const mem = net.blocks()[2]!.attention!.memoryFc!.weight;
    const [gx, gm] = grad(loss(), [x, mem]);
    expect(arr(gm!).some((v) => v !== 0)).toBe(true);
    check(loss, x, gx!);
    check(loss, mem, gm!);
  });
});

describe('networks and connectionScheme', () => {
  it('StepResNet: all-false equals the plain network, all-true the SE network', () => {
    const g = new Generator(30);
    const opts = { depth: 8, inChannels: 1, width: 0.5, reduction: 2 } as const;
    const plain = new StepResNet({ ...opts, adaptor: 'none', generator: g });
    const off = new StepResNet({ ...opts, adaptor: 'se', connectionScheme: [false, false, false], generator: g });
    const se = new StepResNet({ ...opts, adaptor: 'se', generator: g });
    const on = new StepResNet({ ...opts, adaptor: 'se', connectionScheme: [true, true, true], generator: g });
    expect(off.connectionScheme()).toEqual([false, false, false]);
    expect(on.connectionScheme()).toEqual([true, true, true]);
    plain.loadStateDict(off.stateDict());
    on.loadStateDict(se.stateDict());
    const x = randn([2, 1, 8, 8], { generator: g });
    expect(maxDiff(plain.call(x), off.call(x))).toBe(0);
    expect(maxDiff(on.call(x), se.call(x))).toBe(0);
    expect(maxDiff(se.call(x), plain.call(x))).toBeGreaterThan(0);
    const mixed = new StepResNet({ ...opts, adaptor: 'r1', connectionScheme: [false, true, false] });
    expect(mixed.blocks().map((b) => b.adaptorKind)).toEqual(['none', 'r1', 'none']);
  });

  it('rejects a connectionScheme of the wrong length or type', () => {
    expect(() => new StepResNet({ depth: 20, adaptor: 'se', connectionScheme: [true, false] })).toThrow(/one boolean per residual block \(9 = 3 stages x 3\), got 2 entries/);
    expect(() => new StepMLP({ blocksPerStage: 2, adaptor: 'se', connectionScheme: [true, true, true, true, true, 1 as never] })).toThrow(/connectionScheme\[5\] must be a boolean/);
  });

  it('StepResNet (post, SE) equals @methodzoo/models CifarResNet with SEBlock attention', () => {
    const g = new Generator(31);
    const ref = new CifarResNet({ depth: 8, inChannels: 1, width: 0.5, attention: (c) => new SEBlock(c, { reduction: 2, generator: g }), generator: g });
    const net = new StepResNet({ depth: 8, inChannels: 1, width: 0.5, adaptor: 'se', reduction: 2 });
    expect([...net.stateDict().keys()]).toEqual([...ref.stateDict().keys()]);
    net.loadStateDict(ref.stateDict());
    const x = randn([2, 1, 8, 8], { generator: g });
    expect(maxDiff(net.call(x), ref.call(x))).toBeLessThan(1e-5);
  });

  it('pre-activation StepResNet: bearpaw layout (no stem BN, final bn), bottleneck widths, forward shape', () => {
    const net = new StepResNet({ depth: 11, block: 'bottleneck', activation: 'pre', adaptor: 'r2', inChannels: 1, width: 0.25, reduction: 4, generator: new Generator(34) });
    const keys = [...net.stateDict().keys()];
    expect(keys[0]).toBe('conv1.weight');
    expect(keys.some((k) => k.startsWith('bn1.'))).toBe(false);
    expect(keys.filter((k) => /^bn\./.test(k))).toEqual(['bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']);
    expect(net.blocks().map((b) => b.outChannels)).toEqual([16, 32, 64]);
    expect(net.blocks().every((b) => b.attention?.usesMemory === true)).toBe(true);
    expect(net.call(randn([2, 1, 8, 8], { generator: new Generator(35) })).shape).toEqual([2, 10]);
  });

  it('StepMLP: shapes, widths, pre-activation head and fixed steps', () => {
    const g = new Generator(32);
    const net = new StepMLP({ widths: [8, 12, 16], blocksPerStage: 2, adaptor: 'se', activation: 'pre', reduction: 4, generator: g });
    expect(net.blocks().map((b) => b.keepsShape)).toEqual([true, true, false, true, false, true]);
    const x = randn([3, 1, 28, 28], { generator: g });
    expect(net.call(x).shape).toEqual([3, 10]);
    const plain = new StepMLP({ widths: [8, 12, 16], blocksPerStage: 2, adaptor: 'none', activation: 'pre' });
    plain.loadStateDict(net.stateDict(), { strict: false });
    net.eval();
    plain.eval();
    net.setFixedStep(1);
    expect(maxDiff(net.call(x), plain.call(x))).toBe(0);
    expect(() => net.call(randn([3, 100], { generator: g }))).toThrow(/expected 784 input features, got input \[3, 100\]/);
  });

  it('a pre-activation step with identity shortcut is exactly x_{t+1} = x_t + a_t ⊙ f(x_t)', () => {
    const g = new Generator(33);
    const net = new StepMLP({ inFeatures: 10, widths: [8, 8, 8], blocksPerStage: 1, adaptor: 'se', activation: 'pre', reduction: 2, generator: g });
    const b = net.blocks()[0]!;
    const x = randn([4, 8], { generator: g });
    const o = noGrad(() => b.forwardStep(x));
    const a = arr(o.attention!);
    const ref = arr(sigmoid(noGrad(() => b.attention!.logits(o.residual))));
    a.forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 6));
    const f = arr(o.residual);
    const xs = arr(x);
    arr(o.output).forEach((v, i) => expect(v).toBeCloseTo(xs[i]! + a[i]! * f[i]!, 6));
  });
});
