/**
 * Each tfjs kernel against the reference kernel on the same inputs, in every dtype the kernel
 * takes (the golden suite covers float32 through the public ops; this covers int32 and bool, odd
 * geometries of unfold/fold, and the calls that fall back), plus float64 refusal.
 */
import { backendInfo, type DType, Generator, getBackend, grad, initBackends, type PrimAttrs, type PrimName, rand, randint, runPrim, type Tensor, tensor } from '@methodzoo/core';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { TfjsBackend } from '../src/index.js';

const tfjs = await initBackends();
const ref = getBackend('reference');
const g = new Generator(7);

function input(shape: number[], dtype: DType): Tensor {
  if (dtype === 'int32') return randint(-5, 6, shape, { generator: g, backend: ref });
  if (dtype === 'bool') return rand(shape, { generator: g, backend: ref }).gt(0.5);
  return rand(shape, { generator: g, backend: ref }).mul(4).sub(2);
}

/** Runs `name` on the reference and on tfjs with the same inputs; values must agree (tol 0: bit for bit, NaN and -0 included). */
function agree<K extends PrimName>(name: K, inputs: Tensor[], attrs: PrimAttrs[K], tol = 1e-6): void {
  const want = runPrim(name, inputs, attrs);
  const got = runPrim(name, inputs.map((t) => t.to(tfjs)), attrs);
  expect(got.backend.name).toBe('tfjs-wasm');
  expect(got.dtype).toBe(want.dtype);
  expect(got.shape).toEqual(want.shape);
  const a = Array.from(got.dataSync() as ArrayLike<number>);
  const b = Array.from(want.dataSync() as ArrayLike<number>);
  a.forEach((v, i) => {
    if (tol === 0 ? !Object.is(v, b[i]) : Math.abs(v - b[i]!) > tol * (1 + Math.abs(b[i]!))) throw new Error(`${name} ${JSON.stringify(attrs)}: element ${i} is ${v}, reference ${b[i]}`);
  });
}

describe('tfjs-wasm kernels agree with the reference', () => {
  it('is the default after initBackends, on the threaded build with a thread per core, and says why the tfjs-node engines were skipped', () => {
    const info = backendInfo();
    expect(info.current).toBe('tfjs-wasm');
    const cores = availableParallelism();
    expect((tfjs as TfjsBackend).engine).toBe(cores > 1 ? `tfjs-backend-wasm 4.22, threaded SIMD build, ${cores} threads` : 'tfjs-backend-wasm 4.22, single-threaded build, SIMD');
    for (const name of ['tfjs-node-gpu', 'tfjs-node']) {
      const b = info.backends.find((x) => x.name === name)!;
      expect(['not installed', 'failed']).toContain(b.status);
      expect(b.error).toContain(`@tensorflow/${name}`);
    }
  });

  it('int32 and bool elementwise, comparisons, where and casts', () => {
    for (const op of ['neg', 'abs', 'sign', 'relu', 'floor'] as const) agree(op, [input([3, 4], 'int32')], {});
    for (const op of ['add', 'sub', 'mul', 'maximum', 'minimum'] as const) agree(op, [input([3, 4], 'int32'), input([4], 'int32')], {});
    for (const op of ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const) {
      agree(op, [input([2, 3], 'int32'), input([2, 1], 'int32')], {});
      agree(op, [input([2, 3], 'bool'), input([3], 'bool')], {});
    }
    agree('where', [input([2, 1], 'bool'), input([2, 3], 'int32'), input([3], 'int32')], {});
    agree('where', [input([3], 'bool'), input([2, 3], 'bool'), input([1], 'bool')], {});
    const f = tensor([-1.7, 2.5, 0, NaN, -0.2], { backend: ref });
    for (const dtype of ['int32', 'bool', 'float32'] as const) agree('cast', [f], { dtype });
    agree('cast', [input([5], 'bool')], { dtype: 'float32' });
    agree('cast', [input([5], 'int32')], { dtype: 'bool' });
  });

  it('reductions over int32 and bool, with NaN and ties', () => {
    for (const dtype of ['int32', 'float32'] as const) {
      for (const op of ['sum', 'max', 'min'] as const) agree(op, [input([2, 3, 4], dtype)], { axes: [0, 2] });
      agree('argmax', [input([3, 4], dtype)], { axis: 1 });
      agree('argmin', [input([3, 4], dtype)], { axis: 0 });
    }
    agree('sum', [input([4, 5], 'bool')], { axes: [1] });
    agree('argmax', [tensor([[1, NaN, 3, NaN], [2, 2, 1, 0]], { backend: ref })], { axis: 1 });
    agree('argmin', [tensor([[1, NaN, -3], [0, 0, 1]], { backend: ref })], { axis: 1 });
    agree('max', [tensor([[1, NaN, 3]], { backend: ref })], { axes: [1] });
    agree('maximum', [tensor([1, NaN, 3], { backend: ref }), tensor([NaN, 0, 4], { backend: ref })], {});
    agree('sign', [tensor([-2, 0, NaN, 3], { backend: ref })], {});
  });

  it('movement: permute, expand, strided slice and unslice, pad, cat (all dtypes)', () => {
    for (const dtype of ['float32', 'int32', 'bool'] as const) {
      agree('permute', [input([2, 3, 4], dtype)], { perm: [2, 0, 1] });
      agree('expand', [input([3, 1], dtype)], { shape: [2, 3, 4] });
      agree('slice', [input([5, 7], dtype)], { begin: [1, 0], end: [5, 7], step: [2, 3] });
      agree('unslice', [input([2, 3], dtype)], { shape: [5, 8], begin: [1, 1], end: [5, 8], step: [2, 3] });
      agree('pad', [input([2, 3], dtype)], { before: [1, 0], after: [0, 2], value: 0 });
      agree('cat', [input([2, 3], dtype), input([2, 1], dtype), input([2, 2], dtype)], { axis: 1 });
    }
    agree('pad', [input([2, 3], 'float32')], { before: [0, 1], after: [2, 0], value: -1.5 });
    // the batch<->rows swaps around GEMMs, and a broadcast-batch product that uses them
    agree('permute', [input([2, 3, 9], 'float32')], { perm: [1, 0, 2] });
    agree('permute', [input([2, 3, 4, 8], 'float32')], { perm: [2, 0, 1, 3] });
    agree('matmul', [input([1, 3, 5], 'float32'), input([4, 5, 16], 'float32')], { transA: false, transB: false }, 1e-5);
  });

  it('kernels.wat on the heap: sums over every block pattern, rank-6 movement, relu gradient tails', () => {
    // [reduced, kept, reduced] blocks and their degenerate forms, lengths not multiples of 4
    const sums: [number[], number[]][] = [[[3, 5, 2, 7], [0, 2, 3]], [[6, 9], [0]], [[6, 9], [1]], [[2, 3, 5], [0, 1, 2]], [[4, 1, 3], [0]], [[5, 0, 3], [1]], [[2, 3, 4], [1]]];
    for (const [shape, axes] of sums) agree('sum', [input(shape, 'float32')], { axes }, 1e-5);
    agree('sum', [tensor([[1, NaN, 2], [Infinity, 1, -Infinity]], { backend: ref })], { axes: [0] });
    // ranks past the four dims kernels.wat loops over, and a broadcast from a leading dim
    agree('permute', [input([2, 3, 2, 4, 3, 2], 'float32')], { perm: [5, 3, 1, 0, 2, 4] });
    agree('permute', [input([2, 3, 2, 4, 3], 'int32')], { perm: [4, 0, 3, 1, 2] });
    agree('expand', [input([3, 1, 2], 'float32')], { shape: [2, 2, 3, 5, 2] });
    agree('slice', [input([3, 4, 5, 6, 7], 'float32')], { begin: [1, 0, 2, 1, 0], end: [3, 4, 5, 6, 7], step: [1, 2, 2, 3, 4] });
    agree('unslice', [input([2, 2, 3, 2, 2], 'int32')], { shape: [3, 4, 5, 6, 7], begin: [1, 0, 2, 1, 0], end: [3, 4, 5, 6, 7], step: [1, 2, 1, 3, 4] });
    // 4x4 register tiles with column and row tails; stride-2 runs (vector path, then scalar tail)
    for (const perm of [[0, 2, 1], [2, 1, 0], [1, 2, 0]]) agree('permute', [input([6, 9, 7], 'float32')], { perm });
    agree('permute', [input([3, 13, 8], 'int32')], { perm: [0, 2, 1] });
    for (const begin of [0, 1]) agree('slice', [input([3, 41], 'float32')], { begin: [0, begin], end: [3, 41], step: [1, 2] });
    const x = tensor([1, -1, 0, -0, NaN, 2, -3, Infinity, 5], { backend: ref });
    agree('reluBackward', [input([9], 'float32'), x], {}, 0);
  });

  it('float32 arithmetic under broadcasting agrees bit for bit, NaN and infinities included', () => {
    const pairs: [number[], number[]][] = [[[4, 9], [4, 9]], [[3, 5, 7], [5, 1]], [[3, 5, 7], [7]], [[2, 1, 4], [3, 1]], [[6], []], [[], [5]], [[2, 3, 1, 4, 3, 5], [3, 4, 1, 1]]];
    for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const) {
      for (const [sa, sb] of pairs) {
        agree(op, [input(sa, 'float32'), input(sb, 'float32')], {}, 0);
        agree(op, [input(sb, 'float32'), input(sa, 'float32')], {}, 0);
      }
    }
    const special = [NaN, 1, -0, 0, Infinity, -Infinity, 2, NaN, -0];
    const other = [1, NaN, 0, -0, -Infinity, Infinity, 2, NaN, -0];
    // the reference's own loops on the heap: broadcasting pow, sin, cos, argmax with NaN
    agree('pow', [input([3, 5, 7], 'float32').abs(), input([5, 1], 'float32')], {}, 0);
    for (const op of ['sin', 'cos'] as const) agree(op, [tensor([0, 1e6, -3.5, NaN, Infinity, 2], { backend: ref })], {}, 0);
    // maximum(-0, +0) included: b when neither a > b nor a is NaN, as the reference
    for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const) agree(op, [tensor(special, { backend: ref }), tensor(other, { backend: ref })], {}, 0);
  });

  it('batched matmul with broadcast batch and transposed operands', () => {
    agree('matmul', [input([1, 4, 5], 'float32'), input([3, 5, 2], 'float32')], { transA: false, transB: false }, 1e-5);
    agree('matmul', [input([2, 5, 4], 'float32'), input([2, 3, 5], 'float32')], { transA: true, transB: true }, 1e-5);
    // kernels.wat's GEMM (small products): 8- and 4-column blocks and the single-column tail,
    // a broadcast batch on either side, K = 1 and M = 1; then two batched operands large enough
    // to go to XNNPACK one batch at a time
    const shapes: [number, number, number, number, number][] = [[3, 7, 5, 13, 3], [1, 4, 9, 15, 2], [2, 1, 1, 6, 1], [2, 5, 3, 8, 2], [3, 80, 70, 90, 3]];
    for (const [ba, m, k, n, bb] of shapes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const a = input(transA ? [ba, k, m] : [ba, m, k], 'float32');
          const b = input(transB ? [bb, n, k] : [bb, k, n], 'float32');
          agree('matmul', [a, b], { transA, transB }, 1e-5);
        }
      }
    }
  });

  it('unfold and fold (im2col / col2im) for strides, padding, dilation and odd sizes', () => {
    const geometries = [
      { n: 2, c: 3, h: 7, w: 6, kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1] },
      { n: 1, c: 2, h: 9, w: 8, kernel: [3, 2], stride: [2, 3], padding: [1, 0], dilation: [1, 2] },
      { n: 3, c: 1, h: 5, w: 5, kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [2, 1] },
      { n: 1, c: 4, h: 4, w: 4, kernel: [1, 1], stride: [1, 1], padding: [2, 0], dilation: [1, 1] },
    ] as const;
    for (const { n, c, h, w, ...geo } of geometries) {
      const g = { kernel: [...geo.kernel], stride: [...geo.stride], padding: [...geo.padding], dilation: [...geo.dilation] } as PrimAttrs['unfold'];
      const x = input([n, c, h, w], 'float32');
      agree('unfold', [x], g, 0);
      const cols = runPrim('unfold', [x], g);
      agree('fold', [input([...cols.shape], 'float32')], { ...g, outputSize: [h, w] }, 1e-6);
    }
  });

  it('gather, scatterAdd, indexSelect and indexAdd', () => {
    const idx = (shape: number[], hi: number) => randint(0, hi, shape, { generator: g, backend: ref });
    for (const dtype of ['float32', 'int32'] as const) {
      agree('gather', [input([3, 4, 5], dtype), idx([3, 6, 2], 4)], { axis: 1 });
      agree('scatterAdd', [input([3, 4, 5], dtype), idx([2, 3, 5], 3), input([2, 3, 5], dtype)], { axis: 0 });
      agree('indexSelect', [input([3, 4, 5], dtype), idx([6], 5)], { axis: 2 });
      agree('indexAdd', [input([3, 4, 5], dtype), tensor([1, 1, 3], { dtype: 'int32', backend: ref }), input([3, 3, 5], dtype)], { axis: 1 });
    }
    agree('gather', [input([3, 4], 'bool'), idx([3, 2], 4)], { axis: 1 });
  });
});

describe('what tfjs cannot do the reference way', () => {
  it('int32 div, int32 pow and int32 transcendental ops run on the reference, each recorded with its reason', () => {
    agree('div', [tensor([7, -7, 5], { dtype: 'int32', backend: ref }), tensor([2, 2, 0], { dtype: 'int32', backend: ref })], {});
    agree('pow', [input([4], 'int32'), tensor([2, 0, 1, 3], { dtype: 'int32', backend: ref })], {});
    agree('exp', [input([4], 'int32')], {});
    const reasons = backendInfo().fallbacks.filter((f) => f.backend === 'tfjs-wasm').map((f) => [f.prim, f.reason]);
    expect(reasons).toEqual([
      ['div', 'int32 div: the reference truncates a / b toward zero, tfjs floors'],
      ['pow', 'int32 pow: the reference computes Math.pow in doubles'],
      ['exp', 'exp on int32: the reference computes in doubles and stores as int32'],
    ]);
  });

  it('refuses float64 with an error that says what to do', () => {
    expect(() => tensor([1, 2], { dtype: 'float64' })).toThrow("tensor: backend 'tfjs-wasm' does not support float64 (it supports float32, int32, bool); cast first or use another backend");
    expect(() => tensor([1, 2]).double()).toThrow("cast: backend 'tfjs-wasm' does not support float64");
    const d = tensor([1, 2], { dtype: 'float64', backend: ref });
    expect(() => d.to('tfjs-wasm')).toThrow("to: backend 'tfjs-wasm' does not support float64");
    expect(d.float().to('tfjs-wasm').tolist()).toEqual([1, 2]);
  });
});

describe('matmul gradients of a broadcast batch-1 operand (one folded GEMM in the core rule)', () => {
  it('equal the sum over the batch of the per-item gradients, for every transpose combination, on both backends', () => {
    for (const be of [ref, tfjs]) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          for (const shared of ['a', 'b'] as const) {
            const B = 3, M = 4, K = 5, N = 2;
            const aShape = [shared === 'a' ? 1 : B, ...(transA ? [K, M] : [M, K])];
            const bShape = [shared === 'b' ? 1 : B, ...(transB ? [N, K] : [K, N])];
            const a0 = input(aShape, 'float32').to(be);
            const b0 = input(bShape, 'float32').to(be);
            const up = input([B, M, N], 'float32').to(be);
            const grads = (a: Tensor, b: Tensor): [Tensor, Tensor] => {
              const [ga, gb] = grad([runPrim('matmul', [a, b], { transA, transB }).mul(up).sum()], [a, b]);
              return [ga!, gb!];
            };
            const [ga, gb] = grads(a0.detach().requiresGrad_(), b0.detach().requiresGrad_());
            // the same product with the shared operand expanded: no broadcast, per-item gradients
            const aE = (shared === 'a' ? a0.expand(B, aShape[1]!, aShape[2]!) : a0).detach().requiresGrad_();
            const bE = (shared === 'b' ? b0.expand(B, bShape[1]!, bShape[2]!) : b0).detach().requiresGrad_();
            const [gaE, gbE] = grads(aE, bE);
            const want = [shared === 'a' ? gaE.sum(0, { keepdim: true }) : gaE, shared === 'b' ? gbE.sum(0, { keepdim: true }) : gbE];
            [ga, gb].forEach((g, i) => {
              expect(g.shape).toEqual(want[i]!.shape);
              const got = Array.from(g.dataSync());
              Array.from(want[i]!.dataSync()).forEach((w, j) => expect(Math.abs(got[j]! - w), `${be.name} transA=${transA} transB=${transB} shared=${shared} grad ${i}`).toBeLessThan(1e-5));
            });
          }
        }
      }
    }
  });
});
