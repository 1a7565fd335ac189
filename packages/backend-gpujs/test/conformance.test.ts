/**
 * The core's op conformance suite (PyTorch golden values, and float32 gradients through backward())
 * on gpu.js's WebAssembly engine. float64 is excluded: gpu.js computes in f32 and the backend
 * refuses float64 tensors.
 */
import { backendInfo, setBackend } from '@methodzoo/core';
import { describe, expect, it } from 'vitest';
import { describeOpConformance } from '../../core/test/helpers/op-conformance.js';
import { F32_ONLY, type GpujsBackend } from '../src/index.js';

const backend = setBackend('gpujs-webasm');

describeOpConformance([
  {
    name: 'gpujs-webasm',
    backend,
    exclusions: {},
    skipDTypes: { float64: 'gpu.js computes in f32 (the backend refuses float64 with an error)' },
  },
]);

describe('what the suite ran on', () => {
  it('every compiled kernel ran as WebAssembly (none degraded to gpu.js cpu mode)', () => {
    const modes = (backend as unknown as GpujsBackend).kernelModes();
    expect(Object.keys(modes).length).toBeGreaterThan(30);
    expect(Object.entries(modes).filter(([, m]) => m !== 'webasm')).toEqual([]);
  });
  it('fallbacks are only the int32/bool calls, each with its reason', () => {
    const taken = backendInfo().fallbacks.filter((f) => f.backend === 'gpujs-webasm');
    expect(taken.filter((f) => f.reason !== F32_ONLY)).toEqual([]);
  });
});
