/**
 * Every backbone against its PyTorch twin (tools/golden/models_golden.py): state-dict keys as
 * ordered lists with their shapes and parameter counts for each configuration; and for a ResNet-20
 * with SE and a Transformer block with a top-2 MoE feed-forward, PyTorch's weights load by name and
 * the forward (and, for the MoE block, the gradients) match within 1e-4.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSafetensors, memory, noGrad, scope, type Tensor } from '@methodzoo/core';
import { MoEFeedForward, TransformerBlock } from '../src/index.js';
import { buildModel, type ModelKind } from './helpers/build.js';

const DIR = new URL('./fixtures/', import.meta.url);
interface Row {
  name: string;
  kind: ModelKind;
  options: Record<string, unknown>;
  numParams: number;
  stateKeys: [string, number[]][];
}
const fixture = JSON.parse(readFileSync(new URL('models.json', DIR), 'utf8')) as {
  models: Row[];
  moe: { kind: ModelKind; options: Record<string, unknown>; grads: string[] };
};

/** |a - e| <= tol * (|e| + max(1, max |e|)) for every element. */
function expectClose(what: string, actual: Tensor | null | undefined, expected: Tensor, tol: number): void {
  expect(actual, `${what} is missing`).toBeTruthy();
  expect(actual!.shape, `${what} shape`).toEqual(expected.shape);
  const a = actual!.dataSync();
  const e = expected.dataSync();
  let scale = 1;
  for (const v of e) scale = Math.max(scale, Math.abs(Number(v)));
  for (let i = 0; i < e.length; i++) {
    const err = Math.abs(Number(a[i]) - Number(e[i])) / (Math.abs(Number(e[i])) + scale);
    if (!(err <= tol)) expect.fail(`${what}: element ${i} is ${a[i]}, PyTorch has ${e[i]} (relative error ${err.toExponential(2)} > ${tol})`);
  }
}

/** The `state.` entries of a fixture file, keyed without the prefix. */
function stateOf(file: Map<string, Tensor>): Map<string, Tensor> {
  return new Map([...file].filter(([k]) => k.startsWith('state.')).map(([k, t]) => [k.slice(6), t]));
}

describe('state-dict keys and parameter counts equal PyTorch', () => {
  it('covers every model family', () => {
    expect(new Set(fixture.models.map((r) => r.kind))).toEqual(new Set(['resnet', 'mlp', 'unet', 'uvit', 'block', 'gpt']));
  });

  it.each(fixture.models.map((r) => [r.name, r] as const))('%s', (_, row) => {
    const before = memory().tensors;
    const model = buildModel(row.kind, row.options);
    const ours = [...model.stateDict()].map(([k, t]) => [k, [...t.shape]]);
    expect(ours).toEqual(row.stateKeys);
    expect(model.numParameters()).toBe(row.numParams);
    model.dispose();
    expect(memory().tensors).toBe(before);
  });
});

describe('ResNet-20 with SE (width 0.25, 1x28x28) matches PyTorch', () => {
  let file: Map<string, Tensor>;
  beforeAll(async () => {
    file = (await loadSafetensors(fileURLToPath(new URL('resnet20_se.safetensors', DIR)))).tensors;
  });

  it('loads the PyTorch state_dict by name and matches eval and train logits within 1e-4', () => {
    const row = fixture.models.find((r) => r.name === 'resnet20_se_mnist_quarter')!;
    const model = buildModel(row.kind, row.options);
    expect(model.loadStateDict(stateOf(file))).toEqual({ missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] });
    model.eval();
    noGrad(() => scope(() => expectClose('eval logits', model.call(file.get('eval.input')!), file.get('eval.output')!, 1e-4)));
    model.train();
    noGrad(() => scope(() => expectClose('train logits', model.call(file.get('train.input')!), file.get('train.output')!, 1e-4)));
    model.dispose();
  });
});

describe('Transformer block with a top-2 MoE feed-forward matches PyTorch', () => {
  it('output, gates, auxiliary losses, usage counters and gradients', async () => {
    const file = (await loadSafetensors(fileURLToPath(new URL('moe_block.safetensors', DIR)))).tensors;
    const block = buildModel(fixture.moe.kind, fixture.moe.options) as TransformerBlock;
    block.loadStateDict(stateOf(file));
    const moe = block.ffn as MoEFeedForward;
    expect(moe).toBeInstanceOf(MoEFeedForward);
    const out = block.call(file.get('input')!);
    expectClose('output', out, file.get('output')!, 1e-4);
    expectClose('gates', moe.routing!.gates, file.get('gates')!, 1e-4);
    expectClose('balance loss', moe.balanceLoss, file.get('balance')!, 1e-4);
    expectClose('z-loss', moe.zLoss, file.get('zloss')!, 1e-4);
    expect(moe.expert_counts.tolist()).toEqual(file.get('counts')!.tolist());
    out.mul(file.get('upstream')!).sum().add(moe.balanceLoss).add(moe.zLoss!).backward();
    const params = new Map(block.namedParameters());
    for (const n of fixture.moe.grads) expectClose(`grad of ${n}`, params.get(n)!.grad, file.get(`grad.${n}`)!, 1e-4);
    block.dispose();
  });
});
