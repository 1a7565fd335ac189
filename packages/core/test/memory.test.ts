import { describe, expect, it } from 'vitest';
import * as mz from '../src/index.js';
import { smallMlpTraining } from './helpers/mlp-loop.js';

describe('scoped memory', () => {
  it('disposes what a scope created and did not return', () => {
    const before = mz.memory();
    const kept = mz.scope(() => {
      const a = mz.ones([100]);
      const b = a.mul(2).add(1);
      return { b, parts: [a.sum()] };
    });
    const after = mz.memory();
    expect(after.tensors - before.tensors).toBe(2);
    expect(after.bytes - before.bytes).toBe(100 * 4 + 4);
    expect(kept.b.dataSync()[0]).toBe(3);
    kept.b.dispose();
    kept.parts[0]!.dispose();
    expect(mz.memory().tensors).toBe(before.tensors);
    expect(mz.memory().bytes).toBe(before.bytes);
  });

  it('moves returned tensors to the enclosing scope and frees them there', () => {
    const before = mz.memory().tensors;
    mz.scope(() => {
      const inner = mz.scope(() => mz.ones([3]).mul(2));
      expect(inner.isDisposed).toBe(false);
    });
    expect(mz.memory().tensors).toBe(before);
  });

  it('frees everything when the function throws', () => {
    const before = mz.memory().tensors;
    expect(() =>
      mz.scope(() => {
        mz.ones([3]).mul(2);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(mz.memory().tensors).toBe(before);
  });

  it('rejects async functions', () => {
    expect(() => mz.scope(() => Promise.resolve(1) as unknown as number)).toThrow(/scope: fn returned a Promise/);
  });

  it('reshape shares storage: the buffer lives until its last user is disposed', () => {
    const before = mz.memory();
    const a = mz.ones([4]);
    const b = a.reshape(2, 2);
    expect(mz.memory().buffers - before.buffers).toBe(1);
    a.dispose();
    expect(b.tolist()).toEqual([[1, 1], [1, 1]]);
    b.dispose();
    expect(mz.memory().bytes).toBe(before.bytes);
  });

  it('assign swaps values in place and keeps the tensor identity', () => {
    const p = mz.keep(mz.zeros([2]));
    const before = mz.memory();
    mz.scope(() => {
      p.assign(mz.ones([2]).mul(5));
    });
    expect(p.tolist()).toEqual([5, 5]);
    expect(mz.memory().tensors).toBe(before.tensors);
    expect(mz.memory().bytes).toBe(before.bytes);
    expect(() => p.assign(mz.ones([3]))).toThrow(/assign: source \[3\] float32 does not match target \[2\] float32/);
  });
});

describe('a long training loop keeps backend memory flat', () => {
  it('10,000 SGD steps of a small MLP end with the same live tensors and bytes as after step 1', () => {
    const { step: trainStep } = smallMlpTraining(new mz.Generator(0));
    const step = () => {
      const loss = trainStep();
      const value = loss.item();
      loss.dispose();
      return value;
    };
    const first = step();
    const baseline = mz.memory();
    let last = first;
    for (let i = 1; i < 10_000; i++) last = step();
    const end = mz.memory();
    expect(end.tensors).toBe(baseline.tensors);
    expect(end.bytes).toBe(baseline.bytes);
    expect(end.buffers).toBe(baseline.buffers);
    expect(last).toBeLessThan(first / 10);
  });
});

describe('scopes and autograd', () => {
  it('a tensor returned from a scope keeps the graph it needs for backward', () => {
    const w = mz.keep(mz.tensor([2, 3], { requiresGrad: true }));
    const before = mz.memory().tensors;
    const loss = mz.scope(() => w.mul(w).exp().sum());
    loss.backward();
    const e = [Math.exp(4), Math.exp(9)];
    expect(w.grad!.dataSync()[0]).toBeCloseTo(4 * e[0]!, 0);
    expect(w.grad!.dataSync()[1]).toBeCloseTo(6 * e[1]!, 0);
    // the graph's intermediates moved out with the result; an enclosing scope frees them
    expect(mz.memory().tensors).toBeGreaterThan(before + 1);
  });

  it('an enclosing scope frees the graph kept for a returned tensor', () => {
    const w = mz.keep(mz.tensor([2, 3], { requiresGrad: true }));
    const before = mz.memory().tensors;
    mz.scope(() => {
      const loss = mz.scope(() => w.mul(w).exp().sum());
      loss.backward();
    });
    w.grad!.dispose();
    w.grad = null;
    expect(mz.memory().tensors).toBe(before);
  });

  it('backward through a tensor whose needed input was disposed fails naming it', () => {
    const w = mz.tensor([2, 3], { requiresGrad: true });
    const h = w.mul(2);
    const y = h.exp().sum();
    h.dispose();
    expect(() => y.backward()).toThrow(/the gradient of 'exp' needs its input 0 \(tensor #\d+ \[2\]\), which was disposed/);
  });
});
