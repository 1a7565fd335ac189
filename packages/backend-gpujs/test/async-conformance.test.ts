/**
 * The core's golden op cases on gpu.js's async contract (gpujs-webasm-async: kernels queued, values
 * awaited), the same code path gpujs-webgpu takes, so the queueing and release order are tested on
 * every machine and not only where a GPU exists.
 */
import { setBackend } from '@methodzoo/core';
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
});
