/**
 * Op conformance against PyTorch: every case of `test/fixtures/ops/*.json` (written by
 * `tools/golden/ops_golden.py`) runs through the adapter table on each backend, in float64 (tight
 * tolerance) and float32, checking output shapes, dtypes and values, and the input gradients of
 * sum(out * upstream): from `grad()` in float64 and from `backward()` into `.grad` in float32. The suite
 * itself lives in `helpers/op-conformance.ts`, which backend packages run on their backends.
 */
import { describe, expect, it } from 'vitest';
import { getBackend } from '../src/index.js';
import { loadOpFixtures } from './helpers/fixtures.js';
import { ADAPTERS } from './helpers/op-adapters.js';
import { type BackendUnderTest, describeOpConformance } from './helpers/op-conformance.js';

const backends: BackendUnderTest[] = [{ name: 'reference', backend: getBackend('reference'), exclusions: {} }];

const families = loadOpFixtures();
const allCases = families.flatMap((f) => f.cases);

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

describeOpConformance(backends);
