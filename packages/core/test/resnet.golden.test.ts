/**
 * A small CIFAR-style ResNet against its PyTorch twin (tools/golden/nn_golden.py): the PyTorch
 * state_dict, trained for a few SGD steps so BatchNorm running statistics are non-trivial, loads by
 * name into test/helpers/resnet.ts; eval logits, a train-mode cross-entropy backward and the
 * running-statistics update then match PyTorch's.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { cast, crossEntropy, loadModule, loadSafetensors, memory, noGrad, parseSafetensorsHeader, scope, type Tensor } from '../src/index.js';
import { ResNet } from './helpers/resnet.js';

const DIR = new URL('./fixtures/nn/', import.meta.url);
const STATE = fileURLToPath(new URL('resnet_state.safetensors', DIR));
const cfg = JSON.parse(readFileSync(new URL('resnet.json', DIR), 'utf8')) as {
  widths: number[];
  blocks: number[];
  numClasses: number;
  imageSize: number;
  batch: number;
  stateKeys: [string, number[]][];
  grads: string[];
  buffers: string[];
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

describe('CIFAR-style ResNet matches PyTorch', () => {
  let io: Map<string, Tensor>;
  beforeAll(async () => {
    io = (await loadSafetensors(fileURLToPath(new URL('resnet_io.safetensors', DIR)))).tensors;
  });

  it('has the PyTorch state_dict keys, in order, with the same shapes', () => {
    const model = new ResNet(cfg);
    const ours = [...model.stateDict()].map(([k, t]) => [k, [...t.shape]]);
    expect(ours).toEqual(cfg.stateKeys);
    // torchvision's shortcut naming, and the file itself holds exactly these keys.
    expect(ours.map(([k]) => k)).toEqual(expect.arrayContaining(['layer2.0.downsample.0.weight', 'layer3.0.downsample.1.running_var']));
    expect(ours.map(([k]) => k)).not.toContain('layer1.0.downsample.0.weight');
    const header = parseSafetensorsHeader(new Uint8Array(readFileSync(STATE)));
    expect(new Map(header.entries.map((e) => [e.name, e.shape]))).toEqual(new Map(cfg.stateKeys));
    model.dispose();
  });

  it('loads the PyTorch checkpoint with loadModule (values exact, no leak) and matches eval logits', async () => {
    const model = new ResNet(cfg);
    const before = memory().tensors;
    const res = await loadModule(model, STATE);
    expect(res).toEqual({ missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] });
    expect(memory().tensors).toBe(before);

    const { tensors: file } = await loadSafetensors(STATE);
    for (const [k, t] of model.stateDict()) expect(Array.from(t.dataSync()), k).toEqual(Array.from(file.get(k)!.dataSync()));
    expect(model.stateDict().get('layer3.0.bn2.num_batches_tracked')!.item()).toBe(3);
    for (const t of file.values()) t.dispose();

    model.eval();
    const logits = noGrad(() => model.call(io.get('eval.input')!));
    expect(logits.shape).toEqual([cfg.batch, cfg.numClasses]);
    expectClose('eval logits', logits, io.get('eval.logits')!, 1e-4);
    // Eval leaves the running statistics alone.
    expect(model.stateDict().get('bn1.num_batches_tracked')!.item()).toBe(3);
    logits.dispose();
    model.dispose();
  });

  it('train mode: logits, cross-entropy gradients of named parameters and running statistics', async () => {
    const model = new ResNet(cfg);
    await loadModule(model, STATE);
    model.train();
    scope(() => {
      const logits = model.call(io.get('train.input')!);
      expectClose('train logits', logits, io.get('train.logits')!, 1e-4);
      const loss = crossEntropy(logits, cast(io.get('train.target')!, 'int32'));
      expectClose('loss', loss, io.get('train.loss')!, 1e-5);
      loss.backward();
    });
    const params = new Map(model.namedParameters());
    expect(cfg.grads).toEqual(expect.arrayContaining(['conv1.weight', 'layer3.0.downsample.0.weight', 'fc.bias']));
    for (const n of cfg.grads) expectClose(`grad of ${n}`, params.get(n)!.grad, io.get(`grad.${n}`)!, 1e-5);
    // Every parameter took part.
    for (const [n, p] of params) expect(p.grad, n).not.toBeNull();
    const state = model.stateDict();
    expect([...model.namedBuffers()].map(([n]) => n)).toEqual(cfg.buffers);
    for (const n of cfg.buffers) expectClose(`${n} after the train forward`, state.get(n), io.get(`after.${n}`)!, 1e-5);
    model.dispose();
  });
});
