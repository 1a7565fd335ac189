/**
 * ImageNet ResNet: parameter counts and state-dict keys against the torch twin in
 * tools/golden/imagenet_resnet_counts.py (torchvision's layout), the attention hook's stage indices,
 * and shapes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Generator, nn, noGrad, randn } from '@methodzoo/core';
import { BasicBlock, Bottleneck, ImageNetResNet, resnet18, resnet50 } from '../src/index.js';

const fx = JSON.parse(readFileSync(new URL('./fixtures/imagenet_resnet.json', import.meta.url), 'utf8')) as {
  counts: Record<string, number>;
  resnet50_keys: string[];
};

describe('ImageNetResNet', () => {
  it('has the parameter counts and state-dict keys of the torch twin', () => {
    const r50 = resnet50();
    expect(r50.numParameters()).toBe(fx.counts.resnet50);
    expect([...r50.stateDict().keys()]).toEqual(fx.resnet50_keys);
  });

  it('maps [N, 3, H, W] to logits, halving the resolution 5 times', () => {
    const g = new Generator(0);
    // Eighth width keeps the test fast; the layout is that of ResNet-18.
    const net = resnet18({ numClasses: 7, width: 0.125, generator: g });
    const x = randn([2, 3, 64, 64], { generator: g });
    net.eval();
    const feats = noGrad(() => net.stages().reduce((h, s) => s.call(h), net.maxpool.call(net.relu.call(net.bn1.call(net.conv1.call(x))))));
    expect(feats.shape).toEqual([2, 64, 2, 2]);
    expect(net.widths).toEqual([8, 16, 32, 64]);
    expect(noGrad(() => net.call(x)).shape).toEqual([2, 7]);
    expect(net.blocks().every((b) => b instanceof BasicBlock)).toBe(true);
  });

  it('calls the attention hook with (channels, block, stage) for every block, stages 0..3', () => {
    const calls: [number, number, number][] = [];
    const net = new ImageNetResNet({ layers: [1, 2, 1, 1], width: 0.125, numClasses: 10, attention: (c, j, s) => (calls.push([c, j, s]), s === 3 ? new nn.Identity() : null) });
    expect(calls).toEqual([[32, 0, 0], [64, 0, 1], [64, 1, 1], [128, 0, 2], [256, 0, 3]]);
    expect(net.blocks().map((b) => b.attention !== null)).toEqual([false, false, false, false, true]);
    expect(net.blocks()[0]).toBeInstanceOf(Bottleneck);
  });

  it('rejects malformed layer lists', () => {
    expect(() => new ImageNetResNet({ layers: [1, 2, 3] as unknown as [number, number, number, number] })).toThrow(/layers must be four positive integers/);
    expect(() => new ImageNetResNet({ layers: [1, 0, 1, 1] })).toThrow(/layers must be four positive integers/);
    expect(() => new ImageNetResNet({ layers: [1, 1, 1, 1], width: 0 })).toThrow(/width must be positive/);
  });
});
