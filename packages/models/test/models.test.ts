/**
 * Behaviour of the backbones beyond the PyTorch comparison: shapes, the ResNet attention hook and
 * swappable block children, the UNet / UViT skip hook (one call per skip, indices from the
 * outermost skip), and the MoE routing invariants.
 */
import { describe, expect, it } from 'vitest';
import { Generator, memory, nn, noGrad, randint, randn, scope, tensor, type Tensor } from '@methodzoo/core';
import {
  BasicBlock, Bottleneck, CifarResNet, GPT, MLP, MoEFeedForward, resnet20, resnet164, SEBlock, timestepEmbedding, TransformerBlock, UNet, UViT,
} from '../src/index.js';

const close = (a: number, b: number, tol = 1e-5) => expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b)));

describe('CifarResNet', () => {
  it('runs on 1x28x28 MNIST and 3x32x32 CIFAR batches', () => {
    const g = new Generator(0);
    const mnist = resnet20({ inChannels: 1, width: 0.25, generator: g });
    expect(noGrad(() => mnist.call(randn([2, 1, 28, 28], { generator: g }))).shape).toEqual([2, 10]);
    const cifar = new CifarResNet({ depth: 20, width: 0.25, numClasses: 7, generator: g });
    expect(noGrad(() => cifar.call(randn([2, 3, 32, 32], { generator: g }))).shape).toEqual([2, 7]);
    expect(noGrad(() => cifar.forwardFeatures(randn([2, 3, 32, 32], { generator: g }))).shape).toEqual([2, cifar.numFeatures]);
    expect(cifar.numFeatures).toBe(16);
  });

  it('has depth 6n+2 / 9n+2 blocks and rejects other depths', () => {
    const r = resnet20({ width: 0.25 });
    expect(r.blocks()).toHaveLength(9);
    expect(r.blocks().every((b) => b instanceof BasicBlock)).toBe(true);
    const b = resnet164({ width: 0.25 });
    expect(b.blocks()).toHaveLength(54);
    expect(b.blocks()[0]).toBeInstanceOf(Bottleneck);
    expect(b.numFeatures).toBe(64);
    expect(() => new CifarResNet({ depth: 21 })).toThrow(/depth must be 6n \+ 2/);
    expect(() => new CifarResNet({ depth: 32, block: 'bottleneck' })).toThrow(/depth must be 9n \+ 2/);
  });

  it('calls the attention factory once per block with (channels, blockIndex, stageIndex)', () => {
    const calls: number[][] = [];
    const r = resnet20({
      width: 0.5,
      attention: (c, j, s) => {
        calls.push([c, j, s]);
        return j === 1 ? new SEBlock(c) : null;
      },
    });
    expect(calls).toEqual([[8, 0, 0], [8, 1, 0], [8, 2, 0], [16, 0, 1], [16, 1, 1], [16, 2, 1], [32, 0, 2], [32, 1, 2], [32, 2, 2]]);
    const keys = [...r.stateDict().keys()];
    expect(keys).toContain('layer2.1.attention.fc1.weight');
    expect(keys.some((k) => k.startsWith('layer2.0.attention'))).toBe(false);
    // Bottleneck attention sees the expanded width.
    const widths: number[] = [];
    resnet164({ width: 0.25, attention: (c) => (widths.push(c), null) });
    expect(new Set(widths)).toEqual(new Set([16, 32, 64]));
  });

  it('applies attention to the residual branch (bn2 output) before the addition', () => {
    const block = new BasicBlock(4, 4);
    block.eval();
    const seen: Tensor[] = [];
    class Record extends nn.Module {
      forward(x: Tensor): Tensor {
        seen.push(x);
        return x.mul(0);
      }
    }
    const x = randn([1, 4, 5, 5], { generator: new Generator(1) });
    const bn2 = noGrad(() => block.bn2.call(block.conv2.call(block.relu.call(block.bn1.call(block.conv1.call(x))))) as Tensor);
    block.attention = new Record();
    const y = noGrad(() => block.call(x));
    expect(seen).toHaveLength(1);
    expect(Array.from(seen[0]!.dataSync())).toEqual(Array.from(bn2.dataSync()));
    // A zeroed residual branch leaves relu(identity).
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.relu().dataSync()));
  });

  it('lets a method swap a block child and keeps the state-dict order', () => {
    const r = resnet20({ width: 0.25 });
    const block = r.blocks()[3]!;
    const before = [...r.stateDict().keys()];
    block.bn1 = new nn.GroupNorm(1, 8);
    const after = [...r.stateDict().keys()];
    const i = before.indexOf('layer2.0.bn1.weight');
    expect(after.slice(0, i)).toEqual(before.slice(0, i));
    expect(after.slice(i, i + 2)).toEqual(['layer2.0.bn1.weight', 'layer2.0.bn1.bias']);
    expect(after[i + 2]).toBe('layer2.0.conv2.weight');
    expect(noGrad(() => r.call(randn([2, 3, 16, 16]))).shape).toEqual([2, 10]);
  });
});

describe('SEBlock', () => {
  it('scales each channel by sigmoid(fc2(relu(fc1(mean))))', () => {
    const se = new SEBlock(2, { reduction: 2 });
    noGrad(() => {
      se.fc1.weight.assign(tensor([[1, -1]]));
      se.fc1.bias!.assign(tensor([0.5]));
      se.fc2.weight.assign(tensor([[2], [-1]]));
      se.fc2.bias!.assign(tensor([0, 1]));
    });
    // channel means 2 and 0.5 -> fc1 = 2 - 0.5 + 0.5 = 2 -> fc2 = [4, -1]
    const x = tensor([[[[1, 3]], [[0, 1]]]]);
    const y = se.call(x).dataSync();
    const s0 = 1 / (1 + Math.exp(-4));
    const s1 = 1 / (1 + Math.exp(1));
    [1 * s0, 3 * s0, 0, 1 * s1].forEach((v, i) => close(y[i]!, v));
    expect(new SEBlock(64).hidden).toBe(4);
    expect(new SEBlock(8).hidden).toBe(1);
  });
});

describe('MLP', () => {
  it('follows the torchvision layout and is the identity-free stack in eval', () => {
    const m = new MLP([6, 5, 4, 3], { activation: 'tanh', dropout: 0.5, generator: new Generator(0) });
    expect(m.linears().map((l) => [l.inFeatures, l.outFeatures])).toEqual([[6, 5], [5, 4], [4, 3]]);
    expect([...m.stateDict().keys()]).toEqual(['0.weight', '0.bias', '3.weight', '3.bias', '6.weight', '6.bias']);
    const x = randn([3, 6]);
    m.eval();
    const y = noGrad(() => m.call(x));
    const [l0, l1, l2] = m.linears() as [nn.Linear, nn.Linear, nn.Linear];
    const ref = noGrad(() => l2.call(l1.call(l0.call(x).tanh()).tanh()));
    expect(Array.from(y.dataSync())).toEqual(Array.from(ref.dataSync()));
    expect(() => new MLP([4])).toThrow(/at least two/);
  });
});

describe('timestepEmbedding', () => {
  it('is [cos(t f), sin(t f)] with f_i = 10000^(-i/half)', () => {
    const e = timestepEmbedding(tensor([0, 3]), 6).dataSync();
    const f = [0, 1, 2].map((i) => Math.exp((-Math.log(10000) * i) / 3));
    const want = [0, 3].flatMap((t) => [...f.map((v) => Math.cos(t * v)), ...f.map((v) => Math.sin(t * v))]);
    want.forEach((v, i) => close(e[i]!, v));
    expect(timestepEmbedding(tensor([1]), 5).shape).toEqual([1, 5]);
  });
});

/** Records (index, skip channels) of every fuseSkip call and optionally scales the skip. */
function recordingUNet(opts: ConstructorParameters<typeof UNet>[0], scale = 1) {
  const calls: [number, number][] = [];
  class Rec extends UNet {
    override fuseSkip(h: Tensor, skip: Tensor, index: number): Tensor {
      calls.push([index, skip.shape[1]!]);
      return super.fuseSkip(h, scale === 1 ? skip : skip.mul(scale), index);
    }
  }
  return { model: new Rec(opts), calls };
}

describe('UNet', () => {
  const small = { inChannels: 1, modelChannels: 16, channelMult: [1, 2], numResBlocks: 1, attentionResolutions: [2], numHeads: 2, numGroups: 8, generator: new Generator(3) };

  it('calls fuseSkip once per skip, innermost first, index 0 = outermost', () => {
    const { model, calls } = recordingUNet(small);
    expect(model.numSkips).toBe(4);
    expect(model.skipChannels).toEqual([16, 16, 16, 32]);
    const y = noGrad(() => model.call(randn([2, 1, 8, 8]), [1, 400]));
    expect(y.shape).toEqual([2, 1, 8, 8]);
    expect(calls).toEqual([[3, 32], [2, 16], [1, 16], [0, 16]]);
  });

  it('routes every skip through the hook: scaling skips changes the output, add mode has projections', () => {
    const g = new Generator(5);
    const x = randn([1, 1, 8, 8], { generator: g });
    const { model: plain } = recordingUNet(small);
    const { model: scaled } = recordingUNet(small, 0.5);
    scaled.loadStateDict(plain.stateDict());
    // improved-diffusion zero-initialises the last convs; give them values so the skips show.
    for (const m of [plain, scaled]) for (const p of m.parameters()) noGrad(() => p.assign(p.add(randn(p.shape, { generator: new Generator(p.size) }).mul(0.05))));
    const a = noGrad(() => plain.call(x, [10])).dataSync();
    const b = noGrad(() => scaled.call(x, [10])).dataSync();
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    expect(diff).toBeGreaterThan(1e-3);

    const { model: add, calls } = recordingUNet({ ...small, skipMode: 'add', numClasses: 3 });
    expect(add.skip_proj!.keys()).toEqual(['2', '1']);
    const y = noGrad(() => add.call(x, [7], tensor([2], { dtype: 'int32' })));
    expect(y.shape).toEqual([1, 1, 8, 8]);
    expect(calls.map(([i]) => i)).toEqual([3, 2, 1, 0]);
    expect(() => add.call(x, [7])).toThrow(/class-conditional/);
  });

  it('outputs zeros at initialisation (zero-initialised output conv) and checks its input', () => {
    const { model } = recordingUNet(small);
    const y = noGrad(() => model.call(randn([1, 1, 8, 8]), tensor([5])));
    expect(Math.max(...Array.from(y.dataSync(), Math.abs))).toBe(0);
    expect(() => model.call(randn([1, 1, 7, 7]), [1])).toThrow(/divisible by 2/);
    expect(() => model.call(randn([2, 1, 8, 8]), [1])).toThrow(/one timestep per sample/);
  });
});

describe('UViT', () => {
  it('calls fuseSkip once per skip (depth/2), index 0 = first in-block, fused by the matching out-block', () => {
    const calls: number[] = [];
    const used: nn.Linear[] = [];
    class Rec extends UViT {
      override fuseSkip(h: Tensor, skip: Tensor, index: number): Tensor {
        calls.push(index);
        used.push(this.out_blocks.at(this.numSkips - 1 - index).skip_linear!);
        return super.fuseSkip(h, skip, index);
      }
    }
    const v = new Rec({ imageSize: 8, patchSize: 2, inChannels: 1, embedDim: 16, depth: 6, numHeads: 2 });
    expect(v.numSkips).toBe(3);
    const y = noGrad(() => v.call(randn([2, 1, 8, 8]), [1, 2]));
    expect(y.shape).toEqual([2, 1, 8, 8]);
    expect(calls).toEqual([2, 1, 0]);
    expect(used).toEqual([...v.out_blocks].map((b) => b.skip_linear));
    const noSkip = new UViT({ imageSize: 8, patchSize: 2, inChannels: 1, embedDim: 16, depth: 2, numHeads: 2, skip: false });
    expect(noSkip.numSkips).toBe(0);
    expect(noGrad(() => noSkip.call(randn([1, 1, 8, 8]), [0])).shape).toEqual([1, 1, 8, 8]);
  });

  it('unpatchify inverts the patch layout and labels add a token', () => {
    const v = new UViT({ imageSize: 4, patchSize: 2, inChannels: 2, embedDim: 8, depth: 2, numHeads: 2, numClasses: 5 });
    expect(v.extras).toBe(2);
    expect(v.pos_embed.shape).toEqual([1, 6, 8]);
    // token (gh, gw), features (p1, p2, c) -> pixel (c, gh*2+p1, gw*2+p2)
    const x = tensor(Array.from({ length: 4 * 8 }, (_, i) => i), { shape: [1, 4, 8] });
    const img = v.unpatchify(x);
    const at = (c: number, r: number, col: number) => img.dataSync()[c * 16 + r * 4 + col];
    // token 1 = (0, 1); feature index (p1=1, p2=0, c=1) = 1*4 + 0*2 + 1 = 5 -> pixel (1, 1, 2)
    expect(at(1, 1, 2)).toBe(8 + 5);
    expect(noGrad(() => v.call(randn([2, 2, 4, 4]), [1, 2], tensor([0, 4], { dtype: 'int32' }))).shape).toEqual([2, 2, 4, 4]);
  });
});

describe('mixture of experts', () => {
  it('gates sum to 1 per token over exactly the top-k experts', () => {
    const g = new Generator(11);
    const moe = new MoEFeedForward(8, { numExperts: 5, topK: 2, generator: g });
    scope(() => {
      const y = moe.call(randn([3, 7, 8], { generator: g }));
      expect(y.shape).toEqual([3, 7, 8]);
      const r = moe.routing!;
      const gates = r.gates.tolist() as number[][];
      const probs = r.probs.tolist() as number[][];
      expect(gates).toHaveLength(21);
      gates.forEach((row, t) => {
        const used = row.map((v, j) => [v, j] as const).filter(([v]) => v > 0).map(([, j]) => j);
        expect(used, `token ${t}`).toHaveLength(2);
        close(row.reduce((a, b) => a + b, 0), 1);
        const top = probs[t]!.map((p, j) => [p, j] as const).sort((a, b) => b[0] - a[0]).slice(0, 2).map(([, j]) => j).sort();
        expect(used).toEqual(top);
        const p = probs[t]!;
        for (const j of used) close(row[j]!, p[j]! / (p[top[0]!]! + p[top[1]!]!));
      });
      expect(r.tokensPerExpert.reduce((a, b) => a + b, 0)).toBe(21 * 2);
    });
  });

  it('balance and z losses equal their formulas on a hand-checked case; counters accumulate', () => {
    // D = 2, E = 2, k = 1, router = identity, so the logits are the tokens themselves.
    const moe = new MoEFeedForward(2, { numExperts: 2, topK: 1, hidden: 3 });
    noGrad(() => moe.router.weight.assign(tensor([[1, 0], [0, 1]])));
    const x = tensor([[2, 0], [0, 1], [1, 0]]);
    moe.call(x);
    // p = softmax rows: [.8808, .1192], [.2689, .7311], [.7311, .2689]; top-1 -> experts 0, 1, 0.
    expect(moe.routing!.tokensPerExpert).toEqual([2, 1]);
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const P0 = (sig(2) + sig(-1) + sig(1)) / 3;
    const balance = 2 * ((2 / 3) * P0 + (1 / 3) * (1 - P0));
    close(balance, 1.08462, 1e-4); // by hand: 2 (2/3 0.62694 + 1/3 0.37306)
    close(moe.balanceLoss.item(), balance);
    const lse = [Math.log(Math.exp(2) + 1), Math.log(1 + Math.E), Math.log(Math.E + 1)];
    close(moe.zLoss!.item(), lse.reduce((a, v) => a + v * v, 0) / 3);
    expect(moe.expert_counts.tolist()).toEqual([2, 1]);
    moe.call(tensor([[0, 3]]));
    expect(moe.expert_counts.tolist()).toEqual([2, 2]);
    // A buffer in the state dict, not a parameter.
    expect(moe.parameters()).not.toContain(moe.expert_counts);
    expect([...moe.stateDict().keys()][0]).toBe('expert_counts');
    moe.resetUsage();
    expect(moe.expert_counts.tolist()).toEqual([0, 0]);
    // Uniform routing gives the minimum, k.
    const flat = new MoEFeedForward(2, { numExperts: 2, topK: 2, hidden: 3 });
    noGrad(() => flat.router.weight.assign(tensor([[0, 0], [0, 0]])));
    flat.call(x);
    close(flat.balanceLoss.item(), 2);
  });

  it('the balance loss sends gradient to the router only through the probabilities', () => {
    const moe = new MoEFeedForward(4, { numExperts: 3, topK: 1, generator: new Generator(2) });
    moe.call(randn([6, 4], { generator: new Generator(3) }));
    moe.balanceLoss.backward();
    expect(moe.router.weight.grad).not.toBeNull();
    expect(moe.experts.at(0).fc1.weight.grad).toBeNull();
  });

  it('GPT with MoE in alternate blocks: logits, auxiliary loss and no leaked tensors', () => {
    const g = new Generator(4);
    const gpt = new GPT({ vocabSize: 13, blockSize: 8, dim: 16, numLayers: 2, numHeads: 2, moe: { numExperts: 3, topK: 1 }, moeLayers: 'alternate', generator: g });
    expect([...gpt.blocks].map((b) => b.moe !== null)).toEqual([false, true]);
    const before = memory().tensors;
    scope(() => {
      const idx = randint(0, 13, [2, 8], { dtype: 'int32', generator: g });
      const logits = gpt.call(idx);
      expect(logits.shape).toEqual([2, 8, 13]);
      const aux = gpt.auxLoss({ balanceCoef: 1, zCoef: 0 });
      close(aux.item(), gpt.moeLayers()[0]!.balanceLoss.item());
      logits.sum().add(gpt.auxLoss()).backward();
    });
    expect(gpt.moeLayers()[0]!.router.weight.grad).not.toBeNull();
    gpt.zeroGrad();
    expect(memory().tensors).toBe(before);
    expect(() => gpt.call(randint(0, 13, [1, 9], { dtype: 'int32' }))).toThrow(/exceeds blockSize/);
  });

  it('a causal block: the output at position i ignores later tokens', () => {
    const block = new TransformerBlock(8, { numHeads: 2, generator: new Generator(6) });
    const x = randn([1, 4, 8], { generator: new Generator(7) });
    const x2 = x.clone();
    noGrad(() => x2.assign(x.mul(tensor([1, 1, 1, 5]).reshape(1, 4, 1))));
    const a = noGrad(() => block.call(x)).dataSync();
    const b = noGrad(() => block.call(x2)).dataSync();
    for (let i = 0; i < 3 * 8; i++) close(a[i]!, b[i]!);
    expect(Math.abs(a[3 * 8]! - b[3 * 8]!)).toBeGreaterThan(1e-4);
  });
});
