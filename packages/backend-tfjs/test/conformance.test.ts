/**
 * The core's op conformance suite (PyTorch golden values and float32 gradients through backward())
 * on tfjs-wasm. float64 is excluded because TensorFlow.js has no float64 storage.
 */
import { backendInfo, setBackendAsync } from '@methodzoo/core';
import { describe, expect, it } from 'vitest';
import { describeOpConformance } from '../../core/test/helpers/op-conformance.js';
import '../src/index.js';

const backend = await setBackendAsync('tfjs-wasm');

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

describe('fallbacks taken by the suite', () => {
  it('are none: every float32 case ran on tfjs kernels', () => {
    const taken = backendInfo().fallbacks.filter((f) => f.backend === 'tfjs-wasm').map((f) => `${f.prim}: ${f.reason}`);
    expect(taken).toEqual([]);
  });
});
