/**
 * The core's golden op cases on gpu.js's async contract (gpujs-webasm-async: kernels queued, values
 * awaited), the same code path gpujs-webgpu takes, so the queueing and release order are tested on
 * every machine and not only where a GPU exists.
 */
import { setBackend, tensor } from '@methodzoo/core';
import { describe, expect, it } from 'vitest';
import '../src/index.js';
import { ASYNC_EXCLUSIONS, runGoldenAsync } from './helpers/async-golden.js';

describe('golden op cases on gpujs-webasm-async', () => {
  it('every float32 case matches PyTorch in value and gradient', async () => {
    const backend = setBackend('gpujs-webasm-async');
    const results = await runGoldenAsync(backend, ASYNC_EXCLUSIONS);
    expect(results.length).toBeGreaterThan(150);
    expect(results.filter((r) => r.problem).map((r) => `${r.name}: ${r.problem}`)).toEqual([]);
  });

  it('int32/bool ops on a still-queued result run in f32 kernels instead of a reference fallback that cannot read it', async () => {
    setBackend('gpujs-webasm-async');
    const x = tensor([-1, 2, 3, -4, 5]);
    const positives = x.gt(0).sum();
    expect(positives.dtype).toBe('int32');
    expect(Array.from(await positives.data())).toEqual([3]);
    const big = tensor(Int32Array.from([7, -3]));
    // host values (an upload) still take the exact reference kernel
    expect(Array.from(await big.mul(big).data())).toEqual([49, 9]);
  });
});
