/**
 * Dispatch cost: a tensor is registered with the FinalizationRegistry safety net only once it
 * outlives every scope (registration costs more than the rest of an op's dispatch). Every tensor
 * that can still be dropped without dispose() must be registered.
 */
import { describe, expect, it } from 'vitest';
import * as mz from '../src/index.js';

const guarded = (t: mz.Tensor) => (t as unknown as { guarded: boolean }).guarded;

describe('finalizer registration', () => {
  it('registers tensors created outside any scope', () => {
    const t = mz.ones([3]).mul(2);
    expect(guarded(t)).toBe(true);
    t.dispose();
    expect(guarded(t)).toBe(false);
  });

  it('leaves tensors a scope frees unregistered, and registers what escapes to the top level', () => {
    let inner: mz.Tensor | null = null;
    const out = mz.scope(() => {
      const nested = mz.scope(() => {
        inner = mz.ones([4]).add(1);
        return inner.mul(3);
      });
      // still inside a scope: the enclosing scope owns it
      expect(guarded(nested)).toBe(false);
      return nested;
    });
    expect(inner!.isDisposed).toBe(true);
    expect(guarded(out)).toBe(true);
    expect(Array.from(out.dataSync())).toEqual([6, 6, 6, 6]);
    out.dispose();
  });

  it('registers kept tensors, and re-registers them with their new buffer on assign', () => {
    const before = mz.memory();
    const w = mz.scope(() => mz.keep(mz.zeros([5])));
    expect(guarded(w)).toBe(true);
    mz.scope(() => w.assign(w.add(2)));
    expect(guarded(w)).toBe(true);
    expect(Array.from(w.dataSync())).toEqual([2, 2, 2, 2, 2]);
    w.dispose();
    expect(mz.memory().tensors).toBe(before.tensors);
    expect(mz.memory().bytes).toBe(before.bytes);
  });

  it('keeps graph inputs a returned tensor needs for backward alive and registered', () => {
    const x = mz.ones([3], { requiresGrad: true });
    const y = mz.scope(() => x.mul(2).exp().sum());
    y.backward();
    expect(x.grad!.dataSync()[0]).toBeCloseTo(2 * Math.exp(2), 4);
    expect(guarded(y)).toBe(true);
  });
});
