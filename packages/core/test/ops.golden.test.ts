/**
 * Op conformance against PyTorch: every case of `test/fixtures/ops/*.json` (written by
 * `tools/golden/ops_golden.py`) runs through the adapter table on each backend, in float64 (tight
 * tolerance) and float32, checking output shapes, dtypes and values, and the input gradients of
 * sum(out * upstream): from `grad()` in float64 and from `backward()` into `.grad` in float32.
 */
import { describe, expect, it } from 'vitest';
import { type Backend, backward, type FloatDType, getBackend, grad, scope, type Tensor } from '../src/index.js';
import { expectClose, type Tolerance } from './helpers/compare.js';
import { caseInputs, decodeNumbers, fixtureTensor, loadOpFixtures, type OpCase } from './helpers/fixtures.js';
import { ADAPTERS, runAdapter } from './helpers/op-adapters.js';

interface BackendUnderTest {
  name: string;
  backend: Backend;
  /** Case names (or op names) this backend is excused from, each with the reason. */
  exclusions: Record<string, string>;
}
const backends: BackendUnderTest[] = [{ name: 'reference', backend: getBackend('reference'), exclusions: {} }];

const TOLERANCE: Record<FloatDType, Tolerance> = {
  float64: { atol: 1e-10, rtol: 1e-10 },
  float32: { atol: 1e-4, rtol: 1e-4 },
};

const families = loadOpFixtures();
const allCases = families.flatMap((f) => f.cases);

function runCase(c: OpCase, dtype: FloatDType, backend: Backend): void {
  scope(() => {
    const { inputs, named } = caseInputs(c, dtype, backend);
    const outs = runAdapter(c.op, inputs, c.attrs, named);
    expect(outs.length, 'number of outputs').toBe(c.outputs.length);
    outs.forEach((out, i) => {
      const want = c.outputs[i]!;
      const wantDType = want.dtype === 'float64' ? dtype : want.dtype;
      expect(out.dtype, `output ${i} dtype`).toBe(wantDType);
      const tol = want.dtype === 'float64' ? TOLERANCE[dtype] : { atol: 0, rtol: 0 };
      expectClose(out, { shape: want.shape, data: decodeNumbers(want.data) }, tol, `${dtype} output ${i}`);
    });

    const diffInputs = inputs.filter((_, i) => c.inputs[i]!.requiresGrad);
    if (diffInputs.length === 0) return;
    const seeded: Tensor[] = [];
    const seeds: Tensor[] = [];
    c.upstream.forEach((up, i) => {
      if (!up) return;
      const out = outs[i]!;
      expect(out.requiresGrad, `output ${i} should be differentiable`).toBe(true);
      seeded.push(out);
      seeds.push(fixtureTensor({ shape: c.outputs[i]!.shape, dtype: 'float64', data: up }, dtype, backend));
    });
    if (seeded.length === 0) return;
    let grads: (Tensor | null)[];
    if (dtype === 'float64') grads = grad(seeded, diffInputs, { gradOutputs: seeds, allowUnused: true });
    else {
      backward(seeded, seeds);
      grads = diffInputs.map((t) => t.grad);
    }
    let k = 0;
    c.inputs.forEach((spec, i) => {
      if (!spec.requiresGrad) return;
      const g = grads[k++];
      const want = decodeNumbers(c.grads[i]!);
      const label = `${dtype} gradient of input ${i}${spec.name ? ` (${spec.name})` : ''}`;
      if (g === null || g === undefined) {
        expect(want.every((v) => v === 0), `${label}: got none, expected non-zero values`).toBe(true);
        return;
      }
      expectClose(g, { shape: spec.shape, data: want }, TOLERANCE[dtype], label);
    });
  });
}

/** The ops the core must match PyTorch on (issue 2); removing an adapter and its fixtures together still fails here. */
const REQUIRED_OPS = [
  'add', 'sub', 'mul', 'div', 'pow', 'neg', 'abs', 'exp', 'log', 'sqrt', 'rsqrt', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'leakyRelu', 'gelu', 'silu',
  'softplus', 'clamp', 'maximum', 'minimum', 'where', 'eq', 'ne', 'lt', 'le', 'gt', 'ge',
  'sum', 'mean', 'var', 'std', 'max', 'min', 'argmax', 'logsumexp',
  'matmul', 'linear',
  'reshape', 'view', 'flatten', 'squeeze', 'unsqueeze', 'permute', 'transpose', 'expand', 'repeat', 'cat', 'stack', 'split', 'chunk', 'slice', 'narrow',
  'indexSelect', 'gather', 'scatterAdd', 'pad',
  'conv1d', 'conv2d', 'convTranspose2d', 'maxPool2d', 'avgPool2d', 'adaptiveAvgPool2d', 'interpolate', 'softmax', 'logSoftmax', 'dropout', 'embedding',
  'layerNorm', 'groupNorm', 'batchNorm', 'scaledDotProductAttention', 'oneHot',
  'mseLoss', 'l1Loss', 'smoothL1Loss', 'crossEntropy', 'nllLoss', 'binaryCrossEntropyWithLogits', 'klDiv',
];

describe('op fixture coverage', () => {
  it('has fixture cases for every required op', () => {
    const covered = new Set(allCases.map((c) => c.op));
    expect(REQUIRED_OPS.filter((op) => !covered.has(op))).toEqual([]);
  });

  it('loads every family the generator writes', () => {
    expect(families.map((f) => f.family)).toEqual(['activation', 'attention', 'conv', 'elementwise', 'index', 'linalg', 'loss', 'norm', 'pool', 'reduce', 'shape']);
    expect(allCases.length).toBeGreaterThan(250);
  });

  it('gives every adapter at least one fixture case', () => {
    const covered = new Set(allCases.map((c) => c.op));
    expect(Object.keys(ADAPTERS).filter((op) => !covered.has(op))).toEqual([]);
  });

  it('has an adapter for every fixture case', () => {
    expect(allCases.filter((c) => !(c.op in ADAPTERS)).map((c) => c.name)).toEqual([]);
  });

  it('names every case uniquely', () => {
    const names = allCases.map((c) => c.name);
    expect(names.length).toBe(new Set(names).size);
  });
});

describe.each(backends)('$name backend', ({ backend, exclusions }) => {
  const excusedBecause = (c: OpCase) => exclusions[c.name] ?? exclusions[c.op];
  describe.each(families.map((f) => [f.family, f.cases] as const))('%s', (_family, cases) => {
    describe.each(['float64', 'float32'] as const)('%s', (dtype) => {
      const run = cases.filter((c) => !excusedBecause(c));
      const excused = cases.filter((c) => excusedBecause(c));
      it.each(run.map((c) => [c.name, c] as const))('%s', (_name, c) => runCase(c, dtype, backend));
      if (excused.length) it.skip.each(excused.map((c) => [`${c.name}: ${excusedBecause(c)}`]))('%s', () => {});
    });
  });
});
