import { describe, expect, it } from 'vitest';
import * as mz from '../src/index.js';

const f64 = (v: mz.NestedArray) => mz.tensor(v, { dtype: 'float64', requiresGrad: true });

describe('autograd', () => {
  it('accumulates gradients where paths meet and across backward calls', () => {
    const x = f64([2, 3]);
    const y = x.mul(x).add(x.mul(3)).sum(); // d/dx = 2x + 3
    y.backward();
    expect(x.grad!.tolist()).toEqual([7, 9]);
    x.mul(2).sum().backward();
    expect(x.grad!.tolist()).toEqual([9, 11]);
  });

  it('sums broadcast gradients back to the operand shape', () => {
    const a = f64([[1, 2, 3], [4, 5, 6]]);
    const b = f64([10, 20, 30]);
    a.mul(b).sum().backward();
    expect(b.grad!.tolist()).toEqual([5, 7, 9]);
    expect(a.grad!.tolist()).toEqual([[10, 20, 30], [10, 20, 30]]);
  });

  it('refuses a second backward through a freed graph unless retained', () => {
    const x = f64([1]);
    const y = x.exp().sum();
    y.backward(null, { retainGraph: true });
    y.backward();
    expect(x.grad!.item()).toBeCloseTo(2 * Math.E, 12);
    expect(() => y.backward()).toThrow(/backward through the graph a second time/);
  });

  it('needs an explicit gradient for non-scalar outputs', () => {
    const x = f64([1, 2]);
    expect(() => x.mul(2).backward()).toThrow(/implicitly created only for scalar outputs/);
    x.mul(2).backward(mz.tensor([1, 10], { dtype: 'float64' }));
    expect(x.grad!.tolist()).toEqual([2, 20]);
  });

  it('grad() returns gradients without touching .grad, and supports higher order', () => {
    const x = f64([0.5, -1]);
    const y = x.tanh().sum();
    const [g] = mz.grad(y, [x], { createGraph: true });
    expect(x.grad).toBeNull();
    const t = Math.tanh(0.5);
    expect(g!.dataSync()[0]).toBeCloseTo(1 - t * t, 14);
    const [gg] = mz.grad(g!.sum(), [x]);
    expect(gg!.dataSync()[0]).toBeCloseTo(-2 * t * (1 - t * t), 14);
  });

  it('grad() rejects unused inputs unless allowed', () => {
    const x = f64([1]);
    const z = f64([1]);
    const y = x.mul(2).sum();
    expect(() => mz.grad(y, [x, z], { retainGraph: true })).toThrow(/input 1 was not used/);
    const [gx, gz] = mz.grad(y, [x, z], { allowUnused: true });
    expect(gx!.item()).toBe(2);
    expect(gz).toBeNull();
  });

  it('noGrad and detach stop recording', () => {
    const x = f64([1, 2]);
    const y = mz.noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    const z = x.detach().mul(2);
    expect(z.requiresGrad).toBe(false);
    expect(x.mul(2).requiresGrad).toBe(true);
  });

  it('hooks see and can replace gradients; retainGrad keeps non-leaf grads', () => {
    const x = f64([1, 2]);
    const h = x.mul(3);
    h.retainGrad();
    const seen: number[][] = [];
    const handle = h.registerHook((g) => {
      seen.push(Array.from(g.dataSync()));
      return g.mul(10);
    });
    h.sum().backward();
    expect(seen).toEqual([[1, 1]]);
    expect(h.grad!.tolist()).toEqual([10, 10]);
    expect(x.grad!.tolist()).toEqual([30, 30]);
    handle.remove();
    x.grad = null;
    x.mul(3).sum().backward();
    expect(x.grad!.tolist()).toEqual([3, 3]);
  });

  it('leaves sharing one upstream gradient get separate .grad tensors', () => {
    const a = f64([1]);
    const b = f64([2]);
    a.add(b).sum().backward();
    expect(a.grad).not.toBe(b.grad);
    a.grad!.dispose();
    expect(b.grad!.item()).toBe(1);
  });

  it('integer and bool tensors cannot require gradients', () => {
    expect(() => mz.tensor(new Int32Array([1])).requiresGrad_()).toThrow(/only floating-point tensors/);
  });
});
