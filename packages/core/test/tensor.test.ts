import { describe, expect, it } from 'vitest';
import * as mz from '../src/index.js';

describe('tensor creation', () => {
  it('stores nested arrays contiguously with the inferred shape', () => {
    const t = mz.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.dataSync()).toBeInstanceOf(Float32Array);
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects ragged arrays naming the position', () => {
    expect(() => mz.tensor([[1, 2], [3]])).toThrow(/ragged nested array: \[1\] has length 1, expected length 2/);
  });

  it('keeps typed arrays and checks the shape against the data', () => {
    const t = mz.tensor(new Int32Array([1, 2, 3, 4]), { shape: [2, 2] });
    expect(t.dtype).toBe('int32');
    expect(() => mz.tensor(new Float32Array(5), { shape: [2, 2] })).toThrow(/shape \[2, 2\] needs 4 values, data has 5/);
  });

  it('builds arange, linspace, eye, full like PyTorch', () => {
    expect(mz.arange(5).tolist()).toEqual([0, 1, 2, 3, 4]);
    expect(mz.arange(1, 2, 0.25, { dtype: 'float64' }).tolist()).toEqual([1, 1.25, 1.5, 1.75]);
    expect(mz.linspace(0, 1, 5, { dtype: 'float64' }).tolist()).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(mz.eye(2, 3).tolist()).toEqual([[1, 0, 0], [0, 1, 0]]);
    expect(mz.full([2], 7, { dtype: 'int32' }).tolist()).toEqual([7, 7]);
    expect(mz.zerosLike(mz.ones([2, 2], { dtype: 'float64' })).dtype).toBe('float64');
  });

  it('draws the same numbers from the same seed and different ones from another', () => {
    const a = mz.randn([100], { generator: new mz.Generator(42) }).dataSync();
    const b = mz.randn([100], { generator: new mz.Generator(42) }).dataSync();
    const c = mz.randn([100], { generator: new mz.Generator(43) }).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    const mean = Array.from(a).reduce((s, v) => s + v, 0) / a.length;
    expect(Math.abs(mean)).toBeLessThan(0.35);
  });

  it('has sane distributions for rand, randn and randint', () => {
    const g = new mz.Generator(1);
    const u = mz.rand([20000], { generator: g });
    const n = mz.randn([20000], { generator: g });
    const r = mz.randint(3, 7, [20000], { generator: g }).dataSync();
    expect(u.mean().item()).toBeCloseTo(0.5, 1);
    expect(n.std().item()).toBeCloseTo(1, 1);
    expect(Math.min(...r)).toBe(3);
    expect(Math.max(...r)).toBe(6);
    expect(u.min().item()).toBeGreaterThanOrEqual(0);
    expect(u.max().item()).toBeLessThan(1);
  });

  it('resumes a generator exactly from its saved state', () => {
    const g = new mz.Generator(7);
    g.normal();
    const state = g.getState();
    const next = [g.normal(), g.random(), g.nextUint32()];
    g.setState(state);
    expect([g.normal(), g.random(), g.nextUint32()]).toEqual(next);
  });

  it('reads values asynchronously', async () => {
    const t = mz.tensor([1.5, 2.5]);
    expect(Array.from(await t.data())).toEqual([1.5, 2.5]);
  });
});

describe('op errors name the op, the argument and the shapes', () => {
  it('broadcast failures', () => {
    expect(() => mz.add(mz.zeros([2, 3]), mz.zeros([4]))).toThrow(/add: shapes \[2, 3\] and \[4\] cannot be broadcast/);
  });
  it('matmul inner dims', () => {
    expect(() => mz.matmul(mz.zeros([2, 3]), mz.zeros([4, 5]))).toThrow(/matmul: shapes \[2, 3\] and \[4, 5\] cannot be multiplied \(3 vs 4\)/);
  });
  it('reshape sizes', () => {
    expect(() => mz.reshape(mz.zeros([2, 3]), [4, 2])).toThrow(/reshape: cannot reshape \[2, 3\] \(6 elements\) to \[4, 2\]/);
  });
  it('out of range dims', () => {
    expect(() => mz.sum(mz.zeros([2, 3]), 2)).toThrow(/sum: dim=2 is out of range for a tensor with 2 dimension/);
  });
  it('conv2d channel mismatch', () => {
    expect(() => mz.conv2d(mz.zeros([1, 3, 8, 8]), mz.zeros([4, 2, 3, 3]))).toThrow(/conv2d: weight \[4, 2, 3, 3\] expects 2 input channels \(groups=1\), input has 3/);
  });
  it('index out of bounds', () => {
    expect(() => mz.indexSelect(mz.zeros([3, 2]), 0, mz.tensor(new Int32Array([0, 3])))).toThrow(/indexSelect: index 3 is out of bounds for dimension of size 3/);
  });
  it('class targets', () => {
    expect(() => mz.crossEntropy(mz.zeros([2, 3]), mz.tensor(new Int32Array([0, 3])))).toThrow(/target 3 is out of bounds for 3 classes/);
    expect(() => mz.crossEntropy(mz.zeros([2, 3]), mz.tensor(new Int32Array([0, 1, 2])))).toThrow(/target shape \[3\] must be \[2\]/);
  });
  it('use after dispose', () => {
    const t = mz.ones([2]);
    t.dispose();
    expect(() => mz.add(t, 1)).toThrow(/was disposed/);
  });
});

describe('dtypes', () => {
  it('promotes like PyTorch and keeps float64 exact', () => {
    const a = mz.tensor([1, 2], { dtype: 'float64' });
    const b = mz.tensor([0.1, 0.2]);
    expect(mz.add(a, b).dtype).toBe('float64');
    expect(mz.add(mz.tensor(new Int32Array([1, 2])), 0.5).dtype).toBe('float32');
    expect(mz.mul(mz.tensor([0.1], { dtype: 'float64' }), 3).item()).toBe(0.1 * 3);
  });
  it('comparisons give bool and where selects', () => {
    const x = mz.tensor([-1, 0, 2]);
    const m = mz.gt(x, 0);
    expect(m.dtype).toBe('bool');
    expect(mz.where(m, x, mz.tensor([9, 9, 9])).tolist()).toEqual([9, 9, 2]);
  });
});
