/**
 * The core's op conformance suite (PyTorch golden values and float32 gradients through backward())
 * on tfjs-wasm. float64 is excluded because TensorFlow.js has no float64 storage.
 */
import { backendInfo, setBackendAsync } from '@methodzoo/core';
import { describe, expect, it } from 'vitest';
import { describeOpConformance } from '../../core/test/helpers/op-conformance.js';
import '../src/index.js';

const backend = await setBackendAsync('tfjs-wasm');

// Counts the fused kernels' calls, to show the suite's conv and relu cases (forward and
// gradients) ran them rather than their decompositions.
const FUSED = ['conv2d', 'conv2dBackwardInput', 'conv2dBackwardFilter', 'reluBackward'] as const;
const fusedCalls: Record<string, number> = {};
const kernels = backend.kernels as Record<string, (...args: unknown[]) => unknown>;
for (const name of FUSED) {
  const k = kernels[name]!;
  fusedCalls[name] = 0;
  kernels[name] = (...args: unknown[]) => {
    fusedCalls[name]!++;
    return k(...args);
  };
}

describeOpConformance([
  {
    name: 'tfjs-wasm',
    backend,
    exclusions: {},
    skipDTypes: { float64: 'TensorFlow.js has no float64 (the backend refuses it with an error)' },
  },
]);

describe('finite-difference gradient checks (core test/gradcheck.test.ts)', () => {
  it.skip('excluded on tfjs-wasm: they run in float64, which TensorFlow.js cannot store (the float32 gradients above are checked against PyTorch instead)', () => {});
});

describe('fused kernels', () => {
  it('ran for the suite\'s conv cases (forward, input and filter gradients) and relu gradients', () => {
    for (const name of FUSED) expect(fusedCalls[name], name).toBeGreaterThan(0);
  });
});

describe('fallbacks taken by the suite', () => {
  it('are none: every float32 case ran on tfjs kernels', () => {
    const taken = backendInfo().fallbacks.filter((f) => f.backend === 'tfjs-wasm').map((f) => `${f.prim}: ${f.reason}`);
    expect(taken).toEqual([]);
  });
});
