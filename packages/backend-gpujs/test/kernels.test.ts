/**
 * Kernel paths the golden cases are too small or too regular to reach, checked against the reference
 * backend on the same random inputs: matmul's transposed-copy path for large B (with transposes and
 * batch broadcast), reductions whose reduced dims do not collapse to two, many-way cat, and the
 * int32 fallbacks (recorded with their reason).
 */
import * as mz from '@methodzoo/core';
import { describe, expect, it } from 'vitest';
import { F32_ONLY } from '../src/index.js';

const gpu = mz.getBackend('gpujs-webasm');
const ref = mz.getBackend('reference');

function both(shapes: number[][], fn: (...xs: mz.Tensor[]) => mz.Tensor, seed = 0): [Float32Array, Float32Array] {
  const g = new mz.Generator(seed);
  const inputs = shapes.map((s) => mz.randn(s, { generator: g }));
  const run = (b: mz.Backend) =>
    mz.scope(() => {
      const moved = inputs.map((t) => t.to(b));
      const out = fn(...moved);
      expect(out.backend.name).toBe(b.name);
      return Float32Array.from(out.dataSync() as Float32Array);
    });
  const result: [Float32Array, Float32Array] = [run(gpu), run(ref)];
  for (const t of inputs) t.dispose();
  return result;
}

function expectAllClose(got: Float32Array, want: Float32Array, tol = 1e-4): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
  expect(worst).toBeLessThanOrEqual(tol);
}

describe('gpujs-webasm kernels against the reference', () => {
  it('matmul with a large B (k * n >= 2^16: transposed copy first when B is read by columns), in every layout, batched and broadcast', () => {
    for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const [g, r] = both([transA ? [2, 240, 30] : [2, 30, 240], transB ? [1, 300, 240] : [1, 240, 300]], (a, b) =>
        mz.runPrim('matmul', [a, b], { transA, transB }),
      );
      expect(g.length).toBe(2 * 30 * 300);
      expectAllClose(g, r);
    }
  });

  it('reductions over three non-adjacent dims (the general walk) and over all dims', () => {
    const [g, r] = both([[3, 4, 5, 6, 7]], (x) => mz.runPrim('sum', [x], { axes: [0, 2, 4] }));
    expectAllClose(g, r);
    const [gm, rm] = both([[3, 4, 5, 6, 7]], (x) => mz.runPrim('max', [x], { axes: [0, 2, 4] }));
    expectAllClose(gm, rm, 0);
    const [ga, ra] = both([[64, 33]], (x) => mz.sum(x));
    expectAllClose(ga, ra);
  });

  it('cat of four tensors along a middle dim', () => {
    const [g, r] = both([[2, 1, 3], [2, 4, 3], [2, 2, 3], [2, 5, 3]], (a, b, c, d) => mz.cat([a, b, c, d], 1));
    expect(g.length).toBe(2 * 12 * 3);
    expectAllClose(g, r, 0);
  });

  it('int32 arithmetic falls back to the reference, exactly, with its reason recorded', () => {
    mz.setBackend('gpujs-webasm');
    const big = mz.tensor(Int32Array.from([2 ** 24 + 1, -7, 3]));
    const sum = big.add(mz.tensor(Int32Array.from([1, 2, 3])));
    expect(sum.tolist()).toEqual([2 ** 24 + 2, -5, 6]);
    expect(mz.backendInfo().fallbacks).toContainEqual(expect.objectContaining({ backend: 'gpujs-webasm', prim: 'add', reason: F32_ONLY }));
  });

  it('float64 is refused with an error that says to cast', () => {
    mz.setBackend('gpujs-webasm');
    expect(() => mz.tensor([1, 2], { dtype: 'float64' })).toThrow(/does not support float64/);
  });
});
