/**
 * ASR against its PyTorch twin (tools/golden/asr_golden.py, float64): one ASRNorm layer (eval and
 * train outputs, running statistics, gradients of every parameter and the input, folded weight and
 * bias) and a small ASR ResNet-8 (state loaded by name; eval and train logits; the deployed BN
 * state; the plain backbone loaded with it).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mul, noGrad, tensor, type Tensor } from '@methodzoo/core';
import { CifarResNet } from '@methodzoo/models';
import { ASRNorm, asrify, reparameterize, SEGate } from '../src/index.js';

interface Flat {
  shape: number[];
  data: number[];
}
type State = Record<string, Flat>;
const fx = JSON.parse(readFileSync(new URL('./fixtures/asr-golden.json', import.meta.url), 'utf8')) as {
  layer: { state: State; input: Flat; upstream: Flat; evalOutput: Flat; trainOutput: Flat; runningAfterTrain: State; grads: State; foldedWeight: Flat; foldedBias: Flat };
  resnet: { state: State; input: Flat; evalLogits: Flat; trainLogits: Flat; deployedState: State; plainLogits: Flat; numParamsPlain: number; numParamsAsr: number };
};

const T = (f: Flat): Tensor => tensor(f.data, { shape: f.shape, dtype: 'float64' });
const stateMap = (s: State) => new Map(Object.entries(s).map(([k, v]) => [k, T(v)]));

function expectClose(what: string, actual: Tensor, expected: Flat, tol = 1e-10): void {
  expect(actual.shape, `${what} shape`).toEqual(expected.shape);
  const a = actual.dataSync();
  const scale = Math.max(1, ...expected.data.map(Math.abs));
  for (let i = 0; i < expected.data.length; i++) {
    const err = Math.abs(Number(a[i]) - expected.data[i]!) / scale;
    if (!(err <= tol)) expect.fail(`${what}: element ${i} is ${a[i]}, PyTorch has ${expected.data[i]} (error ${err.toExponential(2)})`);
  }
}

describe('ASRNorm equals PyTorch', () => {
  const build = () => {
    const norm = new ASRNorm(32, { dtype: 'float64' });
    expect([...norm.stateDict().keys()]).toEqual(Object.keys(fx.layer.state));
    norm.loadStateDict(stateMap(fx.layer.state));
    return norm;
  };

  it('eval and train outputs, running statistics and gradients', () => {
    const norm = build();
    const x = T(fx.layer.input).requiresGrad_(true);
    expectClose('eval output', noGrad(() => norm.eval().call(x)), fx.layer.evalOutput);
    norm.train();
    const y = norm.call(x);
    expectClose('train output', y, fx.layer.trainOutput);
    expectClose('running_mean', norm.bn.running_mean!, fx.layer.runningAfterTrain.running_mean!);
    expectClose('running_var', norm.bn.running_var!, fx.layer.runningAfterTrain.running_var!);
    mul(y, T(fx.layer.upstream)).sum().backward();
    expectClose('grad x', x.grad!, fx.layer.grads.x!);
    for (const [name, p] of norm.namedParameters()) expectClose(`grad ${name}`, p.grad!, fx.layer.grads[name]!);
  });

  it('folded weight and bias', () => {
    const bn = build().toBatchNorm();
    expectClose('folded weight', bn.weight!, fx.layer.foldedWeight);
    expectClose('folded bias', bn.bias!, fx.layer.foldedBias);
  });
});

describe('ASR ResNet-8 equals PyTorch', () => {
  const plain = () => new CifarResNet({ depth: 8, inChannels: 1, width: 0.5, numClasses: 10, dtype: 'float64' });

  it('loads by name, computes the same logits, deploys to the same plain state', () => {
    const net = plain();
    expect(net.numParameters()).toBe(fx.resnet.numParamsPlain);
    asrify(net, { attention: (c, o) => new SEGate(c, { ...o, reduction: 4 }) });
    expect(net.numParameters()).toBe(fx.resnet.numParamsAsr);
    expect([...net.stateDict().keys()]).toEqual(Object.keys(fx.resnet.state));
    net.loadStateDict(stateMap(fx.resnet.state));
    const x = T(fx.resnet.input);
    expectClose('train logits', noGrad(() => net.train().call(x)), fx.resnet.trainLogits);
    net.loadStateDict(stateMap(fx.resnet.state)); // undo the train-mode statistics update
    expectClose('eval logits', noGrad(() => net.eval().call(x)), fx.resnet.evalLogits);
    reparameterize(net);
    const state = net.stateDict();
    for (const [key, value] of Object.entries(fx.resnet.deployedState)) expectClose(`deployed ${key}`, state.get(key)!, value);
    const p = plain();
    p.loadStateDict(state);
    expectClose('plain logits', noGrad(() => p.eval().call(x)), fx.resnet.plainLogits);
    expectClose('deployed logits', noGrad(() => net.call(x)), fx.resnet.plainLogits);
  });
});
