/**
 * The fused convolution kernels (conv2d and its two gradients as XNNPACK forward convolutions)
 * against the decomposition (unfold + GEMM, gradients through fold and GEMMs) on the reference
 * backend and on tfjs itself, for values, first and second-order gradients.
 */
import { conv2d, conv2dDecomposed, Generator, getBackend, grad, hasKernel, initBackends, randn, type Tensor } from '@methodzoo/core';
import { describe, expect, it } from 'vitest';
import '../src/index.js';

const tfjs = await initBackends();
const ref = getBackend('reference');

function close(got: Tensor, want: Tensor, what: string, tol = 1e-4): void {
  expect(got.shape, what).toEqual(want.shape);
  const a = got.dataSync();
  const b = want.dataSync();
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < b.length; i++) {
    if (Math.abs(a[i]! - b[i]!) > tol * (1 + scale)) throw new Error(`${what}: element ${i} is ${a[i]}, expected ${b[i]} (scale ${scale})`);
  }
}

interface Case {
  n: number;
  c: number;
  o: number;
  hw: [number, number];
  k: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

const cases: Case[] = [
  { n: 2, c: 3, o: 4, hw: [7, 6], k: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 },
  { n: 3, c: 2, o: 5, hw: [9, 8], k: [3, 2], stride: [2, 2], padding: [1, 0], dilation: [1, 1], groups: 1 },
  { n: 2, c: 4, o: 6, hw: [10, 9], k: [3, 3], stride: [1, 2], padding: [2, 1], dilation: [2, 1], groups: 2 },
  { n: 1, c: 3, o: 3, hw: [11, 11], k: [3, 3], stride: [2, 3], padding: [1, 2], dilation: [2, 2], groups: 3 },
  // padding beyond the dilated kernel: the backward-input correlation crops
  { n: 2, c: 2, o: 2, hw: [5, 6], k: [2, 2], stride: [2, 1], padding: [2, 2], dilation: [1, 1], groups: 1 },
  { n: 4, c: 1, o: 8, hw: [12, 12], k: [5, 5], stride: [3, 3], padding: [0, 0], dilation: [1, 1], groups: 1 },
  { n: 2, c: 8, o: 4, hw: [9, 8], k: [3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 2], groups: 1 },
  // fewer input taps than outputs: the filter gradient takes gy on the left, im2col on the right
  { n: 3, c: 1, o: 16, hw: [8, 7], k: [3, 3], stride: [2, 1], padding: [1, 1], dilation: [1, 2], groups: 1 },
];

const label = (c: Case) => `N${c.n} C${c.c} O${c.o} ${c.hw.join('x')} k${c.k.join('x')} s${c.stride} p${c.padding} d${c.dilation} g${c.groups}`;

describe('fused conv2d on tfjs-wasm', () => {
  it('registers all three fused kernels (the reference backend none)', () => {
    expect(tfjs.name).toBe('tfjs-wasm');
    for (const name of ['conv2d', 'conv2dBackwardInput', 'conv2dBackwardFilter'] as const) {
      expect(hasKernel(tfjs, name)).toBe(true);
      expect(hasKernel(ref, name)).toBe(false);
    }
  });

  it.each(cases)('matches the decomposition: values, gradients, second order ($n, $c, $o, $hw, $stride, $groups)', (c) => {
    const g = new Generator(11);
    const x0 = randn([c.n, c.c, ...c.hw], { generator: g, backend: ref });
    const w0 = randn([c.o, c.c / c.groups, ...c.k], { generator: g, backend: ref });
    const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
    const run = (backend: typeof tfjs, decomposed: boolean) => {
      const x = x0.to(backend).detach().requiresGrad_();
      const w = w0.to(backend).detach().requiresGrad_();
      const y = decomposed ? conv2dDecomposed(x, w, opts) : conv2d(x, w, null, opts);
      // a non-uniform upstream gradient, so a transposed or flipped index shows
      const weights = randn(y.shape, { generator: new Generator(5), backend });
      const [gx, gw] = grad(y.mul(weights).sum(), [x, w], { createGraph: true }) as [Tensor, Tensor];
      // second order: d/dw of |dL/dx|^2 + d/dx of |dL/dw|^2 runs the VJPs of both gradient kernels
      const [hx, hw] = grad(gx.mul(gx).sum().add(gw.mul(gw).sum()), [x, w]) as [Tensor, Tensor];
      return { y, gx, gw, hx, hw };
    };
    const want = run(ref, false);
    const fused = run(tfjs, false);
    const decomposed = run(tfjs, true);
    const name = label(c);
    for (const key of ['y', 'gx', 'gw', 'hx', 'hw'] as const) {
      close(fused[key], want[key], `${name} ${key} vs reference`);
      close(fused[key], decomposed[key], `${name} ${key} vs tfjs decomposition`);
    }
    expect(fused.y.backend).toBe(tfjs);
  });

  it('runs the fused kernels (not unfold/fold) for a training step', () => {
    const calls: Record<string, number> = {};
    const kernels = tfjs.kernels as Record<string, unknown>;
    const saved = new Map<string, unknown>();
    for (const name of ['conv2d', 'conv2dBackwardInput', 'conv2dBackwardFilter', 'unfold', 'fold']) {
      const k = kernels[name] as (...a: unknown[]) => unknown;
      saved.set(name, k);
      kernels[name] = (...a: unknown[]) => {
        calls[name] = (calls[name] ?? 0) + 1;
        return k(...a);
      };
    }
    try {
      const g = new Generator(3);
      const x = randn([2, 3, 8, 8], { generator: g, backend: tfjs }).requiresGrad_();
      const w = randn([4, 3, 3, 3], { generator: g, backend: tfjs }).requiresGrad_();
      conv2d(x, w, null, { stride: 2, padding: 1 }).relu().sum().backward();
      expect(calls).toEqual({ conv2d: 1, conv2dBackwardInput: 1, conv2dBackwardFilter: 1 });
    } finally {
      for (const [name, k] of saved) kernels[name] = k;
    }
  });
});
