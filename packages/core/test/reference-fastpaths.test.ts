/**
 * The reference backend's fast paths (buffer recycling, unrolled and specialised elementwise
 * loops, branch-free relu / compare / where) against plain per-element definitions, including the
 * inputs where a shortcut could differ: NaN, infinities, signed zeros, bool bytes other than 0/1,
 * broadcasts of every kind, and buffers reused after a dispose.
 */
import { describe, expect, it } from 'vitest';
import { referenceKernels } from '../src/backends/reference/index.js';
import { clearPool, give, poolStats, take } from '../src/backends/reference/pool.js';
import type { TypedArray } from '../src/dtype.js';
import * as mz from '../src/index.js';
import { INFER } from '../src/prims.js';
import { fromData } from '../src/tensor.js';

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 3.4e38, -3.4e38, 1, -1, 0.5, -2.5];

/** Deterministic values with a sprinkling of special floats (LCG, so failures replay). */
function values(n: number, seed: number, special = true): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    const r = s / 2147483648;
    if (special && r < 0.2) return SPECIAL[Math.floor(r * 5 * SPECIAL.length)]!;
    return Math.round((r - 0.5) * 1000) / 100;
  });
}

const strides = (shape: readonly number[]) => shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
/** Flat index into a tensor of `shape` that is broadcast to `outShape`, for output position `flat`. */
function broadcastIndex(flat: number, outShape: readonly number[], shape: readonly number[]): number {
  const os = strides(outShape);
  const is = strides(shape);
  const off = outShape.length - shape.length;
  let idx = 0;
  for (let d = 0; d < outShape.length; d++) {
    const coord = Math.floor(flat / os[d]!) % outShape[d]!;
    if (d >= off && shape[d - off] !== 1) idx += coord * is[d - off]!;
  }
  return idx;
}

function run(name: 'add' | 'sub' | 'mul' | 'gt' | 'le' | 'eq' | 'where' | 'relu', inputs: { data: TypedArray; shape: number[]; dtype: 'float32' | 'int32' | 'bool' }[]) {
  const out = (INFER[name] as (i: typeof inputs, a: object) => { shape: number[]; dtype: string })(inputs, {});
  return { data: (referenceKernels[name] as unknown as (i: typeof inputs, a: object, o: typeof out) => TypedArray)(inputs, {}, out), shape: out.shape };
}

const f32 = (shape: number[], seed: number, special = true) => ({ data: Float32Array.from(values(shape.reduce((a, b) => a * b, 1), seed, special)), shape, dtype: 'float32' as const });

describe('reference elementwise fast paths match the per-element definition', () => {
  const pairs: [number[], number[]][] = [
    [[1030], [1030]], // same shape, unrolled with a tail
    [[1030], [1]], // scalar right
    [[1], [1030]], // scalar left
    [[8, 16, 9, 9], [1, 16, 1, 1]], // per-channel bias
    [[1, 16, 1, 1], [8, 16, 9, 9]],
    [[64, 10], [64, 1]], // per-row
    [[4, 1, 7], [1, 5, 1]], // outer product: both broadcast
    [[3, 4, 5], [5]],
    [[6, 1, 5], [6, 4, 5]],
  ];
  const defs = {
    add: (a: number, b: number) => Math.fround(a + b),
    sub: (a: number, b: number) => Math.fround(a - b),
    mul: (a: number, b: number) => Math.fround(a * b),
    gt: (a: number, b: number) => (a > b ? 1 : 0),
    le: (a: number, b: number) => (a <= b ? 1 : 0),
    eq: (a: number, b: number) => (a === b ? 1 : 0),
  };
  for (const [sa, sb] of pairs) {
    for (const op of Object.keys(defs) as (keyof typeof defs)[]) {
      it(`${op} [${sa}] with [${sb}]`, () => {
        const a = f32(sa, 1);
        const b = f32(sb, 2);
        const { data, shape } = run(op, [a, b]);
        const expected = Array.from({ length: data.length }, (_, i) => defs[op](a.data[broadcastIndex(i, shape, sa)]!, b.data[broadcastIndex(i, shape, sb)]!));
        expect(Array.from(data)).toEqual(expected);
      });
    }
  }

  it('relu zeroes negatives, -0, +0 and NaN and keeps positives and +inf, bit for bit', () => {
    const x = Float32Array.from([...SPECIAL, ...values(997, 3)]);
    const { data } = run('relu', [{ data: x, shape: [x.length], dtype: 'float32' }]);
    const expected = Array.from(x, (v) => (v > 0 ? v : 0));
    expect(Array.from(data)).toEqual(expected);
    // +0, never -0
    expect(Object.is(data[SPECIAL.indexOf(-0)], 0)).toBe(true);
    const xi = Int32Array.from([-5, 0, 7, -2147483648, 2147483647, ...Array.from({ length: 200 }, (_, i) => i - 100)]);
    const ri = run('relu', [{ data: xi, shape: [xi.length], dtype: 'int32' }]).data;
    expect(Array.from(ri)).toEqual(Array.from(xi, (v) => (v > 0 ? v : 0)));
  });

  it('where treats any non-zero bool byte as true and copies values bit for bit', () => {
    const n = 300;
    const cond = Uint8Array.from({ length: n }, (_, i) => [0, 1, 2, 255, 128][i % 5]!);
    const a = f32([n], 4);
    const b = f32([n], 5);
    const { data } = run('where', [{ data: cond, shape: [n], dtype: 'bool' }, a, b]);
    expect(Array.from(data)).toEqual(Array.from(cond, (c, i) => (c ? a.data[i]! : b.data[i]!)));
    // broadcast condition and scalar fallback value, as relu's gradient uses it
    const rows = Uint8Array.from({ length: 6 }, (_, i) => i % 2);
    const x = f32([6, 70], 6);
    const zero = { data: new Float32Array(1), shape: [] as number[], dtype: 'float32' as const };
    const r = run('where', [{ data: rows, shape: [6, 1], dtype: 'bool' }, x, zero]).data;
    expect(Array.from(r)).toEqual(Array.from(x.data, (v, i) => (rows[Math.floor(i / 70)] ? v : 0)));
    const ints = Int32Array.from({ length: n }, (_, i) => i * 7 - 1000);
    const ri = run('where', [{ data: cond, shape: [n], dtype: 'bool' }, { data: ints, shape: [n], dtype: 'int32' }, { data: Int32Array.of(-1), shape: [], dtype: 'int32' }]).data;
    expect(Array.from(ri)).toEqual(Array.from(cond, (c, i) => (c ? ints[i]! : -1)));
  });
});

describe('reference matmul paths', () => {
  /** C = A B with the products summed in float64 in k order, then rounded once (the kernel's contract). */
  function naive(a: Float32Array, b: Float32Array, m: number, k: number, n: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += a[i * k + q]! * b[q * n + j]!;
        out.push(Math.fround(s));
      }
    }
    return out;
  }
  const matmul = (a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], transA: boolean, transB: boolean) => {
    const inputs = [
      { data: a, shape: aShape, dtype: 'float32' as const },
      { data: b, shape: bShape, dtype: 'float32' as const },
    ];
    const out = INFER.matmul(inputs, { transA, transB });
    return Array.from(referenceKernels.matmul(inputs, { transA, transB }, out) as Float32Array);
  };
  const transpose = (x: Float32Array, rows: number, cols: number) => Float32Array.from({ length: rows * cols }, (_, i) => x[(i % rows) * cols + Math.floor(i / rows)]!);

  // K = 37 reads B in place, K = 333 packs it; odd M and N exercise the edge tiles
  for (const k of [37, 333]) {
    it(`gives the float64-accumulated product for K=${k} through every transpose flag`, () => {
      const m = 7, n = 10;
      const a = Float32Array.from(values(m * k, 11, false));
      const b = Float32Array.from(values(k * n, 12, false));
      const expected = naive(a, b, m, k, n);
      expect(matmul(a, [1, m, k], b, [1, k, n], false, false)).toEqual(expected);
      expect(matmul(a, [1, m, k], transpose(b, k, n), [1, n, k], false, true)).toEqual(expected);
      expect(matmul(transpose(a, m, k), [1, k, m], b, [1, k, n], true, false)).toEqual(expected);
      expect(matmul(transpose(a, m, k), [1, k, m], transpose(b, k, n), [1, n, k], true, true)).toEqual(expected);
    });
  }

  it('broadcasts a batch-1 operand against a batched one', () => {
    const m = 5, k = 9, n = 6;
    const a = Float32Array.from(values(m * k, 13, false));
    const b = Float32Array.from(values(3 * k * n, 14, false));
    const got = matmul(a, [1, m, k], b, [3, k, n], false, false);
    const expected = [0, 1, 2].flatMap((t) => naive(a, b.subarray(t * k * n, (t + 1) * k * n), m, k, n));
    expect(got).toEqual(expected);
  });
});

describe('reference buffer pool', () => {
  it('reuses a disposed output buffer for the next output of the same size without changing results', () => {
    clearPool();
    const x = mz.arange(0, 8192);
    const y = x.mul(2);
    const buffer = (y.kernelView('test').data as Float32Array).buffer;
    y.dispose();
    expect(poolStats().buffers).toBe(1);
    const z = x.add(1);
    expect((z.kernelView('test').data as Float32Array).buffer).toBe(buffer);
    expect(poolStats().buffers).toBe(0);
    expect(Array.from(z.dataSync().slice(0, 4))).toEqual([1, 2, 3, 4]);
    expect(z.dataSync()[8191]).toBe(8192);
    // a zero-initialised kernel (pad) gets a cleared buffer even when it reuses a dirty one
    z.dispose();
    const p = mz.pad(mz.ones([1, 8190]), [1, 1]);
    expect(Array.from(p.dataSync().slice(0, 3))).toEqual([0, 1, 1]);
    expect(p.dataSync()[8191]).toBe(0);
  });

  it('never recycles arrays that came in through upload', () => {
    clearPool();
    const data = new Float32Array(8192).fill(3);
    const t = fromData(data, [8192], 'float32');
    t.dispose();
    expect(poolStats().buffers).toBe(0);
    const other = mz.ones([8192]).mul(5);
    expect(data.every((v) => v === 3)).toBe(true);
    expect(other.dataSync()[0]).toBe(5);
  });

  it('takes a buffer back once even when it is given twice', () => {
    clearPool();
    const buf = take('float32', 10000, false);
    give(buf);
    give(buf);
    expect(poolStats().buffers).toBe(1);
    expect(take('float32', 10000, true)).toBe(buf);
    expect(take('float32', 10000, true)).not.toBe(buf);
  });

  it('keeps a 10-step training loop at flat memory with identical losses on a second run', () => {
    const train = () => {
      const gen = new mz.Generator(7);
      const w = mz.keep(mz.randn([32, 4, 3, 3], { generator: gen }).mul(0.2).requiresGrad_());
      const x = mz.keep(mz.randn([8, 4, 12, 12], { generator: gen }));
      const losses: number[] = [];
      const before = mz.memory();
      for (let i = 0; i < 10; i++) {
        losses.push(
          mz.scope(() => {
            const loss = mz.mean(mz.relu(mz.conv2d(x, w, null, { padding: 1 })));
            loss.backward();
            mz.noGrad(() => w.assign(w.sub(w.grad!.mul(0.1))));
            w.grad!.dispose();
            w.grad = null;
            return loss.item();
          }),
        );
      }
      expect(mz.memory().bytes).toBe(before.bytes);
      w.dispose();
      x.dispose();
      return losses;
    };
    clearPool();
    const cold = train();
    const warm = train(); // every buffer now comes from the pool
    expect(warm).toEqual(cold);
    expect(cold[9]!).toBeLessThan(cold[0]!);
  });
});
