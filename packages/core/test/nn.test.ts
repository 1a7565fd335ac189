import { describe, expect, it } from 'vitest';
import { Generator, memory, nn, noGrad, randn, scope, tensor, type Tensor } from '../src/index.js';

const {
  Module, Parameter, Linear, Identity, Conv1d, Conv2d, ConvTranspose2d, BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm, Embedding, Dropout,
  ReLU, LeakyReLU, GELU, SiLU, Sigmoid, Tanh, Softmax, Softplus, Flatten, MultiheadAttention, Sequential, ModuleList, ModuleDict,
  MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, init,
} = nn;

const g = (seed = 0) => new Generator(seed);
const vals = (t: Tensor) => Array.from(t.dataSync() as ArrayLike<number>);
const shapes = (m: nn.Module) => Object.fromEntries([...m.stateDict()].map(([k, t]) => [k, [...t.shape]]));

function expectClose(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Math.abs(actual[i]! - expected[i]!) > tol * Math.max(1, Math.abs(expected[i]!))) {
      throw new Error(`index ${i}: got ${actual[i]}, expected ${expected[i]} (tol ${tol})`);
    }
  }
}

/** torchvision-style BasicBlock, to check nested key paths. */
class BasicBlock extends Module {
  conv1: nn.Conv2d;
  bn1: nn.Module;
  conv2: nn.Conv2d;
  bn2: nn.BatchNorm2d;
  downsample: nn.Sequential | null;
  constructor(cin: number, cout: number, stride = 1) {
    super();
    this.conv1 = new Conv2d(cin, cout, 3, { stride, padding: 1, bias: false, generator: g(1) });
    this.bn1 = new BatchNorm2d(cout);
    this.conv2 = new Conv2d(cout, cout, 3, { padding: 1, bias: false, generator: g(2) });
    this.bn2 = new BatchNorm2d(cout);
    this.downsample = stride !== 1 || cin !== cout ? new Sequential(new Conv2d(cin, cout, 1, { stride, bias: false, generator: g(3) }), new BatchNorm2d(cout)) : null;
  }
  forward(x: Tensor): Tensor {
    const out = this.bn2.call(this.conv2.call(this.bn1.call(this.conv1.call(x)).relu()));
    return out.add(this.downsample ? this.downsample.call(x) : x).relu();
  }
}

class TinyResNet extends Module {
  conv1 = new Conv2d(3, 4, 3, { padding: 1, bias: false, generator: g(4) });
  bn1 = new BatchNorm2d(4);
  layer1 = new Sequential(new BasicBlock(4, 4), new BasicBlock(4, 8, 2));
  fc = new Linear(8, 3, { generator: g(5) });
  forward(x: Tensor): Tensor {
    const h = this.layer1.call(this.bn1.call(this.conv1.call(x)).relu()) as Tensor;
    return this.fc.call(h.mean([2, 3]));
  }
}

const bnKeys = (p: string) => ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map((k) => `${p}.${k}`);

describe('state-dict keys match PyTorch', () => {
  it('single layers', () => {
    expect(shapes(new Linear(3, 4))).toEqual({ weight: [4, 3], bias: [4] });
    expect(shapes(new Linear(3, 4, { bias: false }))).toEqual({ weight: [4, 3] });
    expect(shapes(new Conv1d(2, 4, 3))).toEqual({ weight: [4, 2, 3], bias: [4] });
    expect(shapes(new Conv2d(4, 8, [3, 5], { groups: 2 }))).toEqual({ weight: [8, 2, 3, 5], bias: [8] });
    expect(shapes(new ConvTranspose2d(6, 4, 2, { groups: 2 }))).toEqual({ weight: [6, 2, 2, 2], bias: [4] });
    expect(shapes(new BatchNorm2d(5))).toEqual({ weight: [5], bias: [5], running_mean: [5], running_var: [5], num_batches_tracked: [] });
    expect([...new BatchNorm1d(5).stateDict().keys()]).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    expect([...new BatchNorm2d(5, { affine: false }).stateDict().keys()]).toEqual(['running_mean', 'running_var', 'num_batches_tracked']);
    expect([...new BatchNorm2d(5, { trackRunningStats: false }).stateDict().keys()]).toEqual(['weight', 'bias']);
    expect(shapes(new LayerNorm([4, 5]))).toEqual({ weight: [4, 5], bias: [4, 5] });
    expect(shapes(new LayerNorm(4, { bias: false }))).toEqual({ weight: [4] });
    expect(shapes(new LayerNorm(4, { elementwiseAffine: false }))).toEqual({});
    expect(shapes(new GroupNorm(2, 6))).toEqual({ weight: [6], bias: [6] });
    expect(shapes(new Embedding(10, 3))).toEqual({ weight: [10, 3] });
    for (const m of [new ReLU(), new GELU(), new Dropout(), new Flatten(), new MaxPool2d(2), new AvgPool2d(2), new AdaptiveAvgPool2d(1), new Identity()]) {
      expect(m.stateDict().size).toBe(0);
    }
  });

  it('MultiheadAttention, in PyTorch order', () => {
    const m = new MultiheadAttention(8, 2);
    expect([...m.stateDict()].map(([k, t]) => [k, [...t.shape]])).toEqual([
      ['in_proj_weight', [24, 8]],
      ['in_proj_bias', [24]],
      ['out_proj.weight', [8, 8]],
      ['out_proj.bias', [8]],
    ]);
    expect([...new MultiheadAttention(8, 2, { addBiasKv: true }).stateDict().keys()]).toEqual([
      'in_proj_weight', 'in_proj_bias', 'bias_k', 'bias_v', 'out_proj.weight', 'out_proj.bias',
    ]);
    expect(shapes(new MultiheadAttention(8, 2, { kdim: 5, vdim: 6 }))).toEqual({
      q_proj_weight: [8, 8], k_proj_weight: [8, 5], v_proj_weight: [8, 6], in_proj_bias: [24], 'out_proj.weight': [8, 8], 'out_proj.bias': [8],
    });
    expect([...new MultiheadAttention(8, 2, { bias: false }).stateDict().keys()]).toEqual(['in_proj_weight', 'out_proj.weight']);
  });

  it('nested modules: Sequential indices and torchvision-style paths', () => {
    expect([...new Sequential(new Linear(2, 3), new ReLU(), new Linear(3, 1)).stateDict().keys()]).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    const keys = [...new TinyResNet().stateDict().keys()];
    expect(keys).toEqual([
      'conv1.weight', ...bnKeys('bn1'),
      'layer1.0.conv1.weight', ...bnKeys('layer1.0.bn1'), 'layer1.0.conv2.weight', ...bnKeys('layer1.0.bn2'),
      'layer1.1.conv1.weight', ...bnKeys('layer1.1.bn1'), 'layer1.1.conv2.weight', ...bnKeys('layer1.1.bn2'),
      'layer1.1.downsample.0.weight', ...bnKeys('layer1.1.downsample.1'),
      'fc.weight', 'fc.bias',
    ]);
    const net = new TinyResNet();
    // parameters exclude buffers; buffers are the running stats
    expect(net.namedParameters().map(([k]) => k)).toEqual(keys.filter((k) => !/running_|num_batches/.test(k)));
    expect(net.namedBuffers().map(([k]) => k)).toEqual(keys.filter((k) => /running_|num_batches/.test(k)));
    expect(net.namedModules().map(([k]) => k).slice(0, 6)).toEqual(['', 'conv1', 'bn1', 'layer1', 'layer1.0', 'layer1.0.conv1']);
    expect(net.namedChildren().map(([k]) => k)).toEqual(['conv1', 'bn1', 'layer1', 'fc']);
  });

  it('containers: Sequential from a record, ModuleList, ModuleDict in insertion order', () => {
    const named = new Sequential({ conv: new Conv2d(1, 2, 3), act: new ReLU(), head: new Linear(2, 1) });
    expect([...named.stateDict().keys()]).toEqual(['conv.weight', 'conv.bias', 'head.weight', 'head.bias']);
    class Net extends Module {
      layers = new ModuleList([new Linear(2, 2), new Linear(2, 2)]);
      heads = new ModuleDict({ z: new Linear(2, 1), 2: new Linear(2, 1) });
      forward(x: Tensor): Tensor {
        for (const l of this.layers) x = l.call(x);
        return x;
      }
    }
    const net = new Net();
    net.heads.set('a', new Linear(2, 1, { bias: false }));
    // ModuleDict keeps insertion order even for integer-like keys (a plain object would not)
    expect(net.heads.keys()).toEqual(['2', 'z', 'a']);
    const keys = [...net.stateDict().keys()];
    expect(keys.slice(0, 4)).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']);
    expect(keys.slice(4)).toEqual(['heads.2.weight', 'heads.2.bias', 'heads.z.weight', 'heads.z.bias', 'heads.a.weight']);
    const first = net.layers.at(0);
    net.layers.insert(0, new Linear(2, 2));
    expect(net.layers.at(1)).toBe(first);
    expect(net.layers.length).toBe(3);
    expect(net.layers.pop(0)).not.toBe(first);
    expect(net.layers.at(0)).toBe(first);
    expect(net.heads.delete('z')).toBeInstanceOf(Linear);
    expect(net.heads.keys()).toEqual(['2', 'a']);
    expect([...net.stateDict().keys()]).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'heads.2.weight', 'heads.2.bias', 'heads.a.weight']);
    const seq = new Sequential(new Linear(2, 3), new ReLU(), new Linear(3, 1));
    expect(seq.at(-1)).toBe([...seq][2]);
    expect([...seq.slice(1).stateDict().keys()]).toEqual(['2.weight', '2.bias']);
    expect(() => net.layers.forward()).toThrow(/no forward/);
  });

  it('registered buffers: persistent ones in the state dict, non-persistent only in buffers()', () => {
    class WithBuffers extends Module {
      declare table: Tensor;
      declare cache: Tensor;
      lin = new Linear(2, 2);
      constructor() {
        super();
        this.registerBuffer('table', tensor([1, 2]));
        this.registerBuffer('cache', tensor([0]), false);
      }
      forward(x: Tensor): Tensor {
        return this.lin.call(x);
      }
    }
    const m = new WithBuffers();
    expect([...m.stateDict().keys()]).toEqual(['table', 'lin.weight', 'lin.bias']);
    expect(m.namedBuffers().map(([k]) => k)).toEqual(['table', 'cache']);
    expect(m.table.tolist()).toEqual([1, 2]);
    expect(() => m.registerBuffer('training', tensor([1]))).toThrow(/already exists/);
    expect(() => m.registerParameter('lin', null)).toThrow(/already exists/);
    expect(() => m.registerModule('train', new ReLU())).toThrow(/already exists/);
    expect(() => m.registerModule('a.b', new ReLU())).toThrow(/can't contain "."/);
  });

  it('re-assigning a property swaps the child and keeps its place', () => {
    const block = new BasicBlock(4, 4);
    block.bn1 = new GroupNorm(2, 4);
    expect([...block.stateDict().keys()]).toEqual(['conv1.weight', 'bn1.weight', 'bn1.bias', 'conv2.weight', ...bnKeys('bn2')]);
    expect(block.call(randn([1, 4, 5, 5], { generator: g() })).shape).toEqual([1, 4, 5, 5]);
  });

  it('tied parameters: listed once by parameters(), under every name by stateDict()', () => {
    class Tied extends Module {
      enc = new Embedding(5, 3);
      dec = new Linear(3, 5, { bias: false });
      constructor() {
        super();
        this.dec.weight = this.enc.weight;
      }
      forward(x: Tensor): Tensor {
        return this.dec.call(this.enc.call(x));
      }
    }
    const m = new Tied();
    expect(m.namedParameters().map(([k]) => k)).toEqual(['enc.weight']);
    expect([...m.stateDict().keys()]).toEqual(['enc.weight', 'dec.weight']);
    expect(m.numParameters()).toBe(15);
  });
});

describe('parameter counts', () => {
  it('match PyTorch', () => {
    expect(new Conv2d(3, 16, 3).numParameters()).toBe(448);
    expect(new Linear(10, 5).numParameters()).toBe(55);
    expect(new MultiheadAttention(8, 2).numParameters()).toBe(24 * 8 + 24 + 64 + 8);
    expect(new BatchNorm2d(16).numParameters()).toBe(32);
    expect(new ConvTranspose2d(16, 8, 2).numParameters()).toBe(16 * 8 * 4 + 8);
    const m = new Sequential(new Linear(4, 4), new Linear(4, 2));
    m.at(0).requiresGrad_(false);
    expect(m.numParameters()).toBe(30);
    expect(m.numParameters({ trainableOnly: true })).toBe(10);
  });
});

describe('loadStateDict', () => {
  it('round-trips values while keeping tensor identity', () => {
    const a = new TinyResNet();
    const b = new TinyResNet();
    init.normal_(a.fc.weight, 0, 1, { generator: g(9) });
    noGrad(() => a.bn1.running_mean!.assign(tensor([1, 2, 3, 4])));
    const before = [...b.stateDict().values()];
    const result = b.loadStateDict(a.stateDict());
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] });
    expect([...b.stateDict().values()]).toEqual(before); // same objects
    for (const [k, t] of a.stateDict()) expect(vals(b.stateDict().get(k)!)).toEqual(vals(t));
    expect(b.bn1.running_mean!.tolist()).toEqual([1, 2, 3, 4]);
    const x = randn([2, 3, 6, 6], { generator: g() });
    a.eval();
    b.eval();
    expect(vals(b.call(x))).toEqual(vals(a.call(x)));
    // the module does not share storage with the source
    noGrad(() => a.fc.bias!.assign(tensor([7, 7, 7])));
    expect(vals(b.fc.bias!)).not.toEqual([7, 7, 7]);
  });

  it('accepts a record and casts dtypes (float64 checkpoint into float32 module)', () => {
    const m = new Linear(2, 1);
    m.loadStateDict({ weight: tensor([[0.5, -2]], { dtype: 'float64' }), bias: tensor([3], { dtype: 'float64' }) });
    expect(m.weight.dtype).toBe('float32');
    expect(m.call(tensor([[2, 1]])).tolist()).toEqual([[2]]);
  });

  it('strict: one error lists missing, unexpected and mismatched keys, and copies nothing', () => {
    const m = new Sequential(new Linear(2, 3), new BatchNorm1d(3));
    const w0 = vals(m.at(0).stateDict().get('weight')!);
    const state = new Map<string, Tensor>([
      ['0.weight', randn([3, 2])],
      ['0.bias', randn([4])],
      ['1.weight', randn([3])],
      ['extra.weight', randn([1])],
    ]);
    let message = '';
    try {
      m.loadStateDict(state);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('missing key(s): "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"');
    expect(message).toContain('unexpected key(s): "extra.weight"');
    expect(message).toContain('size mismatch for "0.bias": checkpoint has shape [4], module has [3]');
    expect(vals(m.at(0).stateDict().get('weight')!)).toEqual(w0);
  });

  it('non-strict: copies what matches and returns the rest', () => {
    const m = new Sequential(new Linear(2, 3), new Linear(3, 2));
    const src = new Sequential(new Linear(2, 3), new Linear(3, 5));
    const r = m.loadStateDict(src.stateDict(), { strict: false });
    expect(r.missingKeys).toEqual([]);
    expect(r.unexpectedKeys).toEqual([]);
    expect(r.mismatchedKeys).toEqual([
      { key: '1.weight', expected: [2, 3], got: [5, 3] },
      { key: '1.bias', expected: [2], got: [5] },
    ]);
    expect(vals(m.stateDict().get('0.weight')!)).toEqual(vals(src.stateDict().get('0.weight')!));
    const r2 = new Linear(2, 3).loadStateDict({ weight: randn([3, 2]), other: randn([1]) }, { strict: false });
    expect(r2).toEqual({ missingKeys: ['bias'], unexpectedKeys: ['other'], mismatchedKeys: [] });
  });
});

describe('BatchNorm', () => {
  // Channel 0: 1, 3, 5, 7 (mean 4, biased var 5, unbiased 20/3); channel 1: 2, 6, 4, 12 (mean 6, biased 14, unbiased 56/3).
  const x = [[1, 2], [3, 6], [5, 4], [7, 12]];
  const eps = 1e-5;

  it('training normalises with batch statistics and updates running stats by PyTorch\'s formula', () => {
    const bn = new BatchNorm1d(2);
    const y = bn.call(tensor(x));
    const expectedY = x.flatMap(([a, b]) => [(a! - 4) / Math.sqrt(5 + eps), (b! - 6) / Math.sqrt(14 + eps)]);
    expectClose(y.dataSync(), expectedY);
    expectClose(bn.running_mean!.dataSync(), [0.1 * 4, 0.1 * 6]);
    const rv1 = [0.9 + (0.1 * 20) / 3, 0.9 + (0.1 * 56) / 3];
    expectClose(bn.running_var!.dataSync(), rv1);
    expect(bn.num_batches_tracked!.item()).toBe(1);
    // second batch: 2x (mean 8 / 12, unbiased var 80/3 / 224/3)
    bn.call(tensor(x.map((r) => r.map((v) => 2 * v))));
    expectClose(bn.running_mean!.dataSync(), [0.9 * 0.4 + 0.1 * 8, 0.9 * 0.6 + 0.1 * 12]);
    const rv2 = [0.9 * rv1[0]! + (0.1 * 80) / 3, 0.9 * rv1[1]! + (0.1 * 224) / 3];
    expectClose(bn.running_var!.dataSync(), rv2);
    expect(bn.num_batches_tracked!.item()).toBe(2);
    expect(bn.num_batches_tracked!.dtype).toBe('int32');

    // eval uses the running statistics and the affine parameters; stats stay put
    init.constant_(bn.weight!, 2);
    noGrad(() => bn.bias!.assign(tensor([0.5, -1])));
    bn.eval();
    const ye = bn.call(tensor(x));
    const rm = [0.9 * 0.4 + 0.8, 0.9 * 0.6 + 1.2];
    expectClose(ye.dataSync(), x.flatMap(([a, b]) => [((a! - rm[0]!) / Math.sqrt(rv2[0]! + eps)) * 2 + 0.5, ((b! - rm[1]!) / Math.sqrt(rv2[1]! + eps)) * 2 - 1]));
    expectClose(bn.running_mean!.dataSync(), rm);
    expect(bn.num_batches_tracked!.item()).toBe(2);
  });

  it('momentum null keeps a cumulative average', () => {
    const bn = new BatchNorm1d(2, { momentum: null });
    bn.call(tensor(x));
    bn.call(tensor(x.map((r) => r.map((v) => 2 * v))));
    expectClose(bn.running_mean!.dataSync(), [(4 + 8) / 2, (6 + 12) / 2]);
    expectClose(bn.running_var!.dataSync(), [(20 / 3 + 80 / 3) / 2, (56 / 3 + 224 / 3) / 2]);
  });

  it('BatchNorm2d pools statistics over N, H, W; without running stats eval uses the batch', () => {
    const bn = new BatchNorm2d(2, { momentum: 0.5 });
    // [N=2, C=2, 1, 2]: channel 0 = 1, 3, 5, 7; channel 1 = 2, 6, 4, 12
    const x4 = tensor([[[[1, 3]], [[2, 6]]], [[[5, 7]], [[4, 12]]]]);
    bn.call(x4);
    expectClose(bn.running_mean!.dataSync(), [2, 3]);
    expectClose(bn.running_var!.dataSync(), [0.5 + 10 / 3, 0.5 + 28 / 3]);
    const free = new BatchNorm2d(2, { trackRunningStats: false }).eval();
    expectClose(free.call(x4).dataSync(), [1, 3, 2, 6, 5, 7, 4, 12].map((v, i) => ([0, 1, 4, 5].includes(i) ? (v - 4) / Math.sqrt(5 + eps) : (v - 6) / Math.sqrt(14 + eps))));
    expect(() => bn.call(tensor(x))).toThrow(/expected 4D input/);
  });
});

describe('hooks and modes', () => {
  it('forward hooks fire through call, can change input/output, and can be removed', () => {
    const lin = new Linear(2, 2);
    const seq = new Sequential(lin, new ReLU());
    const seen: unknown[][] = [];
    const h = lin.registerForwardHook((m, args, out) => void seen.push([m, args[0], out]));
    const x = tensor([[1, -1]]);
    const y = seq.call(x) as Tensor;
    expect(seen).toHaveLength(1);
    expect(seen[0]![0]).toBe(lin);
    expect(seen[0]![1]).toBe(x);
    expect((seen[0]![2] as Tensor).shape).toEqual([1, 2]);
    const pre = seq.registerForwardPreHook((_m, args) => [(args[0] as Tensor).mul(0)]);
    const replace = seq.registerForwardHook(() => tensor([42]));
    expect((seq.call(x) as Tensor).tolist()).toEqual([42]);
    expect(vals(seen[1]![1] as Tensor).map(Math.abs)).toEqual([0, 0]);
    h.remove();
    pre.remove();
    replace.remove();
    expect(vals(seq.call(x) as Tensor)).toEqual(vals(y));
    expect(seen).toHaveLength(2);
    // forward skips hooks
    lin.registerForwardHook(() => tensor([0]));
    expect(lin.forward(x).shape).toEqual([1, 2]);
  });

  it('train/eval reach every module; Dropout is the identity in eval', () => {
    const drop = new Dropout(0.5, { generator: g(3) });
    const net = new Sequential(new Linear(4, 4), new Sequential(drop));
    net.eval();
    expect(net.modules().every((m) => !m.training)).toBe(true);
    const x = randn([200], { generator: g() });
    expect(drop.call(x)).toBe(x);
    net.train();
    expect(drop.training).toBe(true);
    const y = vals(drop.call(x));
    const xs = vals(x);
    const zeros = y.filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(60);
    expect(zeros).toBeLessThan(140);
    y.forEach((v, i) => {
      if (v !== 0) expect(v).toBeCloseTo(2 * xs[i]!, 5);
    });
    // the same generator state gives the same mask
    const again = new Dropout(0.5, { generator: g(3) }).call(x);
    expect(vals(again)).toEqual(y);
  });

  it('apply visits children before the parent', () => {
    const order: string[] = [];
    new Sequential(new Linear(1, 1), new ReLU()).apply((m) => void order.push(m.constructor.name));
    expect(order).toEqual(['Linear', 'ReLU', 'Sequential']);
  });
});

describe('gradients', () => {
  class Everything extends Module {
    conv = new Conv2d(2, 4, 3, { padding: 'same' });
    bn = new BatchNorm2d(4);
    gn = new GroupNorm(2, 4);
    up = new ConvTranspose2d(4, 2, 2, { stride: 2 });
    pool = new MaxPool2d(2);
    avg = new AvgPool2d(2);
    conv1d = new Conv1d(2, 3, 3, { padding: 1 });
    emb = new Embedding(6, 8, { paddingIdx: 0 });
    attn = new MultiheadAttention(8, 2, { batchFirst: true, addBiasKv: true });
    ln = new LayerNorm(8);
    head = new Sequential(new Flatten(), new Linear(8 * 3, 4), new GELU(), new Linear(4, 2));
    forward(img: Tensor, tokens: Tensor): Tensor {
      let h = this.gn.call(this.bn.call(this.conv.call(img))).relu(); // [N, 4, 4, 4]
      h = this.avg.call(this.up.call(this.pool.call(h))); // [N, 2, 2, 2]
      const seq = this.conv1d.call(h.reshape(h.shape[0]!, 2, 4)); // [N, 3, 4]
      const e = this.emb.call(tokens).add(seq.mean(2, { keepdim: true })); // [N, 3, 8]
      const [a] = this.attn.call(e, e, e);
      return this.head.call(this.ln.call(a.add(e)));
    }
  }

  it('reach every parameter of a small model', () => {
    const m = new Everything();
    const img = randn([2, 2, 4, 4], { generator: g(1) });
    const tokens = tensor([[1, 2, 0], [3, 4, 5]], { dtype: 'int32' });
    m.call(img, tokens).square().sum().backward();
    const names = m.namedParameters().map(([k]) => k);
    expect(names).toContain('attn.in_proj_weight');
    expect(names).toContain('attn.bias_k');
    for (const [name, p] of m.namedParameters()) {
      expect(p.grad, name).not.toBeNull();
      expect(p.grad!.shape, name).toEqual(p.shape);
      expect(vals(p.grad!).some((v) => v !== 0), `${name} has a zero gradient`).toBe(true);
    }
    // the padding row of the embedding gets no gradient
    expect(vals(m.emb.weight.grad!).slice(0, 8)).toEqual(new Array(8).fill(0));
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
  });

  it('modules built inside a scope keep their parameters and buffers', () => {
    const before = memory().tensors;
    const m = scope(() => {
      const net = new Sequential(new Linear(3, 3), new BatchNorm1d(3));
      net.call(randn([4, 3]));
      return net;
    });
    expect(m.parameters().every((p) => !p.isDisposed)).toBe(true);
    expect(m.buffers().every((b) => !b.isDisposed)).toBe(true);
    expect(scope(() => m.call(randn([4, 3])).shape)).toEqual([4, 3]);
    // training steps in scopes leave only the 7 module tensors and 4 gradients behind
    for (let i = 0; i < 20; i++) scope(() => m.call(randn([4, 3])).sum().backward());
    expect(memory().tensors).toBeLessThanOrEqual(before + 11);
    m.zeroGrad();
    m.dispose();
    expect(m.parameters().every((p) => p.isDisposed)).toBe(true);
    expect(m.buffers().every((b) => b.isDisposed)).toBe(true);
    // nothing but the module's own tensors outlived the scopes
    expect(memory().tensors).toBeLessThanOrEqual(before);
  });
});

describe('init', () => {
  const stats = (t: Tensor) => {
    const v = vals(t);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    return { mean, std, maxAbs: Math.max(...v.map(Math.abs)) };
  };

  it('gains and fans as PyTorch', () => {
    expect(init.calculateGain('relu')).toBeCloseTo(Math.SQRT2, 12);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3, 12);
    expect(init.calculateGain('leaky_relu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.01 ** 2)), 12);
    expect(init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(init.calculateGain('selu')).toBe(0.75);
    expect(init.calculateGain('conv2d')).toBe(1);
    expect(init.calculateFanInAndFanOut(new Parameter(randn([16, 3, 3, 5])))).toEqual({ fanIn: 45, fanOut: 240 });
    expect(() => init.calculateFanInAndFanOut(randn([4]))).toThrow(/fewer than 2 dimensions/);
  });

  it('Linear and Conv defaults: weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))', () => {
    const lin = new Linear(200, 100, { generator: g(1) });
    const w = stats(lin.weight);
    const bound = 1 / Math.sqrt(200);
    expect(w.maxAbs).toBeLessThanOrEqual(bound);
    expect(w.maxAbs).toBeGreaterThan(0.99 * bound);
    expect(w.std).toBeCloseTo(bound / Math.sqrt(3), 3);
    expect(Math.abs(w.mean)).toBeLessThan(0.002);
    expect(stats(lin.bias!).maxAbs).toBeLessThanOrEqual(bound);
    const conv = new Conv2d(3, 64, 3, { generator: g(2) }); // fan_in = 27
    expect(stats(conv.weight).maxAbs).toBeLessThanOrEqual(1 / Math.sqrt(27));
    expect(stats(conv.weight).maxAbs).toBeGreaterThan(0.98 / Math.sqrt(27));
    expect(stats(conv.bias!).maxAbs).toBeLessThanOrEqual(1 / Math.sqrt(27));
    // ConvTranspose2d takes fan_in from dim 1 of its [in, out, kh, kw] weight, as PyTorch
    const up = new ConvTranspose2d(64, 4, 2, { generator: g(3) });
    expect(stats(up.weight).maxAbs).toBeLessThanOrEqual(1 / Math.sqrt(16));
    expect(stats(up.weight).maxAbs).toBeGreaterThan(0.98 / Math.sqrt(16));
  });

  it('MultiheadAttention, Embedding and norm defaults', () => {
    const mha = new MultiheadAttention(32, 4, { generator: g(4) });
    const bound = Math.sqrt(6 / (32 + 96));
    expect(stats(mha.in_proj_weight!).maxAbs).toBeLessThanOrEqual(bound);
    expect(stats(mha.in_proj_weight!).maxAbs).toBeGreaterThan(0.98 * bound);
    expect(vals(mha.in_proj_bias!).every((v) => v === 0)).toBe(true);
    expect(vals(mha.out_proj.bias!).every((v) => v === 0)).toBe(true);
    expect(stats(mha.out_proj.weight).maxAbs).toBeLessThanOrEqual(1 / Math.sqrt(32));
    const emb = new Embedding(100, 50, { paddingIdx: -1, generator: g(5) });
    expect(emb.paddingIdx).toBe(99);
    const e = stats(emb.weight);
    expect(e.std).toBeCloseTo(1, 1);
    expect(vals(emb.weight).slice(99 * 50)).toEqual(new Array(50).fill(0));
    expect(vals(new LayerNorm(3).weight!)).toEqual([1, 1, 1]);
    expect(vals(new GroupNorm(1, 3).bias!)).toEqual([0, 0, 0]);
  });

  it('kaiming/xavier normal, trunc normal, and seeded replay', () => {
    const t = new Parameter(randn([400, 100]));
    init.kaimingNormal_(t, { mode: 'fan_out', nonlinearity: 'relu', generator: g(6) });
    expect(stats(t).std).toBeCloseTo(Math.SQRT2 / Math.sqrt(400), 3);
    init.xavierNormal_(t, { gain: 2, generator: g(7) });
    expect(stats(t).std).toBeCloseTo(2 * Math.sqrt(2 / 500), 3);
    init.truncNormal_(t, 0, 1, -0.5, 0.5, { generator: g(8) });
    expect(stats(t).maxAbs).toBeLessThanOrEqual(0.5);
    expect(vals(new Linear(5, 5, { generator: g(11) }).weight)).toEqual(vals(new Linear(5, 5, { generator: g(11) }).weight));
    expect(vals(new Linear(5, 5, { generator: g(11) }).weight)).not.toEqual(vals(new Linear(5, 5, { generator: g(12) }).weight));
  });
});

describe('layers', () => {
  it('Linear computes x W^T + b', () => {
    const lin = new Linear(2, 2);
    lin.loadStateDict({ weight: tensor([[1, 2], [3, 4]]), bias: tensor([10, 20]) });
    expect(lin.call(tensor([[1, 1], [2, 0]])).tolist()).toEqual([[13, 27], [12, 26]]);
  });

  it('conv shapes: same padding with an even kernel, stride, dilation, transposed output size', () => {
    const x = randn([1, 2, 7, 9], { generator: g() });
    expect(new Conv2d(2, 3, 4, { padding: 'same' }).call(x).shape).toEqual([1, 3, 7, 9]);
    expect(new Conv2d(2, 3, 3, { padding: 'same', dilation: 2 }).call(x).shape).toEqual([1, 3, 7, 9]);
    expect(new Conv2d(2, 4, 3, { stride: 2, padding: 1, groups: 2 }).call(x).shape).toEqual([1, 4, 4, 5]);
    expect(new Conv1d(2, 5, 4, { padding: 'same' }).call(randn([3, 2, 10])).shape).toEqual([3, 5, 10]);
    expect(new Conv1d(16, 33, 3, { stride: 2 }).call(randn([2, 16, 50])).shape).toEqual([2, 33, 24]);
    const up = new ConvTranspose2d(2, 3, 3, { stride: 2, padding: 1 });
    expect(up.call(x).shape).toEqual([1, 3, 13, 17]);
    expect(up.forward(x, [14, 18]).shape).toEqual([1, 3, 14, 18]);
    expect(() => up.forward(x, [15, 18])).toThrow(/not reachable/);
    expect(() => new Conv2d(3, 4, 3, { groups: 2 })).toThrow(/divisible by groups/);
    expect(() => new Conv2d(2, 4, 3, { padding: 'same', stride: 2 })).toThrow(/strided/);
  });

  it('even-kernel same padding puts the extra row and column at the end, as PyTorch', () => {
    const conv = new Conv2d(1, 1, 2, { padding: 'same', bias: false });
    conv.loadStateDict({ weight: tensor([[[[1, 0], [0, 0]]]]) });
    // a top-left tap with the extra padding at the bottom/right is the identity
    const x = tensor([[[[1, 2], [3, 4]]]]);
    expect(conv.call(x).tolist()).toEqual(x.tolist());
  });

  it('activations and pooling', () => {
    const x = tensor([[-2, -0.5, 0, 1.5]]);
    expect(new ReLU().call(x).tolist()).toEqual([[0, 0, 0, 1.5]]);
    expectClose(new LeakyReLU(0.2).call(x).dataSync(), [-0.4, -0.1, 0, 1.5]);
    expectClose(new Sigmoid().call(x).dataSync(), [-2, -0.5, 0, 1.5].map((v) => 1 / (1 + Math.exp(-v))));
    expectClose(new Tanh().call(x).dataSync(), [-2, -0.5, 0, 1.5].map(Math.tanh));
    expectClose(new SiLU().call(x).dataSync(), [-2, -0.5, 0, 1.5].map((v) => v / (1 + Math.exp(-v))));
    expectClose(new Softplus().call(x).dataSync(), [-2, -0.5, 0, 1.5].map((v) => Math.log1p(Math.exp(v))));
    expectClose(new GELU({ approximate: 'tanh' }).call(x).dataSync(), [-2, -0.5, 0, 1.5].map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))));
    expectClose(new GELU().call(tensor([1])).dataSync(), [0.8413447460685429]);
    const sm = vals(new Softmax(-1).call(x));
    expect(sm.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(new Flatten().call(randn([2, 3, 4, 5])).shape).toEqual([2, 60]);
    const img = tensor([[[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]]]);
    expect(new MaxPool2d(2).call(img).tolist()).toEqual([[[[6, 8], [14, 16]]]]);
    expect(new AvgPool2d(2).call(img).tolist()).toEqual([[[[3.5, 5.5], [11.5, 13.5]]]]);
    expect(new AdaptiveAvgPool2d(1).call(img).tolist()).toEqual([[[[8.5]]]]);
    expect(new AdaptiveAvgPool2d([2, null]).call(img).shape).toEqual([1, 1, 2, 4]);
    expect(new Identity().call(img)).toBe(img);
  });

  it('LayerNorm and GroupNorm normalise as PyTorch (biased variance)', () => {
    const ln = new LayerNorm(4);
    expectClose(ln.call(tensor([[1, 2, 3, 4]])).dataSync(), [1, 2, 3, 4].map((v) => (v - 2.5) / Math.sqrt(1.25 + 1e-5)));
    const gn = new GroupNorm(2, 4);
    // groups {1, 3} and {5, 11}: means 2 and 8, biased variances 1 and 9
    expectClose(gn.call(tensor([[1, 3, 5, 11]])).dataSync(), [-1 / Math.sqrt(1 + 1e-5), 1 / Math.sqrt(1 + 1e-5), -3 / Math.sqrt(9 + 1e-5), 3 / Math.sqrt(9 + 1e-5)]);
  });
});

describe('MultiheadAttention forward', () => {
  /** Plain-JS multi-head attention over [N][L][E] arrays, as PyTorch defines it. */
  function reference(mha: nn.MultiheadAttention, x: number[][][], masked: boolean[][] | null): { out: number[][][]; w: number[][][] } {
    const e = mha.embedDim;
    const h = mha.numHeads;
    const d = e / h;
    const W = mha.in_proj_weight!.tolist() as number[][];
    const B = mha.in_proj_bias!.tolist() as number[];
    const Wo = mha.out_proj.weight.tolist() as number[][];
    const Bo = mha.out_proj.bias!.tolist() as number[];
    const proj = (row: number[], w: number[][], b: number[], off: number) => Array.from({ length: e }, (_, o) => b[off + o]! + row.reduce((s, v, i) => s + v * w[off + o]![i]!, 0));
    const out: number[][][] = [];
    const wAvg: number[][][] = [];
    x.forEach((seq, n) => {
      const q = seq.map((r) => proj(r, W, B, 0));
      const k = seq.map((r) => proj(r, W, B, e));
      const v = seq.map((r) => proj(r, W, B, 2 * e));
      const concat = seq.map(() => new Array<number>(e).fill(0));
      const avg = seq.map(() => new Array<number>(seq.length).fill(0));
      for (let hd = 0; hd < h; hd++) {
        seq.forEach((_, i) => {
          const scores = seq.map((_, j) => {
            if (masked?.[n]![j]) return -Infinity;
            let s = 0;
            for (let c = 0; c < d; c++) s += q[i]![hd * d + c]! * k[j]![hd * d + c]!;
            return s / Math.sqrt(d);
          });
          const mx = Math.max(...scores);
          const ex = scores.map((s) => Math.exp(s - mx));
          const z = ex.reduce((a, b) => a + b, 0);
          const p = ex.map((v2) => v2 / z);
          p.forEach((pj, j) => {
            avg[i]![j]! += pj / h;
            for (let c = 0; c < d; c++) concat[i]![hd * d + c]! += pj * v[j]![hd * d + c]!;
          });
        });
      }
      out.push(concat.map((r) => proj(r, Wo, Bo, 0)));
      wAvg.push(avg);
    });
    return { out, w: wAvg };
  }

  it('matches a plain reference, seq-first layout, with a key padding mask', () => {
    const mha = new MultiheadAttention(4, 2, { generator: g(3) });
    init.uniform_(mha.in_proj_bias!, -0.5, 0.5, { generator: g(4) });
    init.uniform_(mha.out_proj.bias!, -0.5, 0.5, { generator: g(5) });
    const xs = [0, 1].map((n) => [0, 1, 2].map((l) => [0, 1, 2, 3].map((c) => Math.sin(1 + n * 7 + l * 3 + c))));
    const masked = [[false, false, true], [false, false, false]];
    // [L, N, E] input
    const x = tensor([0, 1, 2].map((l) => [0, 1].map((n) => xs[n]![l]!)));
    const [out, w] = mha.call(x, x, x, { keyPaddingMask: tensor(masked) });
    const ref = reference(mha, xs, masked);
    expect(out.shape).toEqual([3, 2, 4]);
    expectClose(out.dataSync(), [0, 1, 2].flatMap((l) => [0, 1].flatMap((n) => ref.out[n]![l]!)), 1e-5);
    expect(w!.shape).toEqual([2, 3, 3]);
    expectClose(w!.dataSync(), ref.w.flat(2), 1e-5);
    // batchFirst gives the same numbers in [N, L, E]
    const bf = new MultiheadAttention(4, 2, { batchFirst: true });
    bf.loadStateDict(mha.stateDict());
    const [out2] = bf.call(tensor(xs), tensor(xs), tensor(xs), { keyPaddingMask: tensor(masked), needWeights: false });
    expectClose(out2.dataSync(), ref.out.flat(2), 1e-5);
  });

  it('bool attnMask (true = blocked), per-head weights, unbatched input', () => {
    const mha = new MultiheadAttention(4, 2, { batchFirst: true, generator: g(6) });
    const x = randn([1, 3, 4], { generator: g(7) });
    const causal = tensor([[false, true, true], [false, false, true], [false, false, false]]);
    const [, w] = mha.call(x, x, x, { attnMask: causal, averageAttnWeights: false });
    expect(w!.shape).toEqual([1, 2, 3, 3]);
    const wv = vals(w!);
    for (const hd of [0, 1]) {
      expect(wv[hd * 9 + 1]).toBe(0);
      expect(wv[hd * 9 + 2]).toBe(0);
      expect(wv[hd * 9 + 5]).toBe(0);
      expect(wv[hd * 9]).toBeCloseTo(1, 6);
    }
    const [o1] = mha.call(x, x, x);
    const [o2, w2] = mha.call(x.reshape(3, 4), x.reshape(3, 4), x.reshape(3, 4));
    expect(o2.shape).toEqual([3, 4]);
    expect(w2!.shape).toEqual([3, 3]);
    expectClose(o2.dataSync(), vals(o1), 1e-6);
    expect(() => mha.call(x, x, x, { attnMask: tensor([[true]]) })).toThrow(/attnMask must be/);
  });
});

describe('utilities', () => {
  it('to(float64) casts float parameters and buffers, not the int counter', () => {
    const net = new Sequential(new Linear(3, 2), new BatchNorm1d(2)).to('float64');
    for (const [k, t] of net.stateDict()) expect(t.dtype, k).toBe(k.endsWith('num_batches_tracked') ? 'int32' : 'float64');
    expect(net.call(randn([4, 3], { dtype: 'float64' })).dtype).toBe('float64');
    expect(net.parameters().every((p) => p instanceof Parameter && p.requiresGrad)).toBe(true);
  });

  it('prints a PyTorch-style tree', () => {
    const s = new Sequential(new Linear(2, 3), new ReLU(), new Conv2d(1, 2, 3, { bias: false })).toString();
    expect(s).toBe('Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n  (1): ReLU()\n  (2): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), bias=False)\n)');
  });
});
