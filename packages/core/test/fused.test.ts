/**
 * Fused composites: a backend that registers conv2d / conv2dBackwardInput / conv2dBackwardFilter
 * kernels gets them from `conv2d` and from its gradient rules (first and second order), and the
 * results equal the unfold + GEMM decomposition; a backend without them keeps the decomposition.
 */
import { describe, expect, it } from 'vitest';
import {
  conv2d, Generator, getBackend, grad, hasKernel, type Kernel, type KernelTable, type KernelTensor, OpError, randn, ReferenceBackend, referenceKernels, registerBackend, runPrim,
  type Tensor, type TypedArray,
} from '../src/index.js';

const calls: Record<string, number> = {};
const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
const view = (data: TypedArray, shape: number[]): KernelTensor<TypedArray> => ({ data, shape, dtype: 'float32' });
const mm = (a: KernelTensor<TypedArray>, b: KernelTensor<TypedArray>, transA: boolean, transB: boolean, shape: number[]) =>
  referenceKernels.matmul([a, b], { transA, transB }, { shape, dtype: 'float32' });

// Fused kernels made of the reference kernels on flat arrays (groups = 1): one unfold/fold and one GEMM each.
const conv2dKernel: Kernel<'conv2d', TypedArray> = ([x, w], a, out) => {
  count('conv2d');
  const [n, c] = x!.shape as [number, number];
  const [o, , kh, kw] = w!.shape as [number, number, number, number];
  const l = out.shape[2]! * out.shape[3]!;
  const cols = referenceKernels.unfold([x!], { kernel: [kh, kw], stride: a.stride, padding: a.padding, dilation: a.dilation }, { shape: [n, c * kh * kw, l], dtype: 'float32' });
  return mm(view(w!.data, [1, o, c * kh * kw]), view(cols, [n, c * kh * kw, l]), false, false, [n, o, l]);
};
const backwardInputKernel: Kernel<'conv2dBackwardInput', TypedArray> = ([gy, w], a, out) => {
  count('conv2dBackwardInput');
  const [n, o, oh, ow] = gy!.shape as [number, number, number, number];
  const [, c, kh, kw] = w!.shape as [number, number, number, number];
  const cols = mm(view(w!.data, [1, o, c * kh * kw]), view(gy!.data, [n, o, oh * ow]), true, false, [n, c * kh * kw, oh * ow]);
  const g = { kernel: [kh, kw] as [number, number], stride: a.stride, padding: a.padding, dilation: a.dilation, outputSize: a.inputSize };
  return referenceKernels.fold([view(cols, [n, c * kh * kw, oh * ow])], g, out);
};
const backwardFilterKernel: Kernel<'conv2dBackwardFilter', TypedArray> = ([x, gy], a, out) => {
  count('conv2dBackwardFilter');
  const [n, c] = x!.shape as [number, number];
  const [, o, oh, ow] = gy!.shape as [number, number, number, number];
  const [kh, kw] = a.kernel;
  const ck = c * kh * kw;
  const l = oh * ow;
  const cols = referenceKernels.unfold([x!], { kernel: a.kernel, stride: a.stride, padding: a.padding, dilation: a.dilation }, { shape: [n, ck, l], dtype: 'float32' });
  const perSample = mm(view(gy!.data, [n, o, l]), view(cols, [n, ck, l]), false, true, [n, o, ck]);
  return referenceKernels.sum([view(perSample, [n, o, ck])], { axes: [0] }, { shape: out.shape, dtype: 'float32' });
};

class FusedBackend extends ReferenceBackend {
  override readonly kernels: KernelTable<TypedArray>;
  constructor(
    readonly label: string,
    fused: Pick<KernelTable<TypedArray>, 'conv2d' | 'conv2dBackwardInput' | 'conv2dBackwardFilter'>,
  ) {
    super();
    this.kernels = { ...referenceKernels, ...fused };
  }
}
registerBackend('fused-test', () => new FusedBackend('fused-test', { conv2d: conv2dKernel, conv2dBackwardInput: backwardInputKernel, conv2dBackwardFilter: backwardFilterKernel }), -1);
registerBackend('fused-forward-only', () => new FusedBackend('fused-forward-only', { conv2d: conv2dKernel }), -1);

function close(a: Tensor, b: Tensor, what: string): void {
  expect(a.shape, what).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  for (let i = 0; i < y.length; i++) if (Math.abs(x[i]! - y[i]!) > 1e-4 * (1 + Math.abs(y[i]!))) throw new Error(`${what}: element ${i} is ${x[i]}, expected ${y[i]}`);
}

/** Forward, first-order and second-order gradients of a strided, padded, dilated conv. */
function run(backendName: string) {
  const g = new Generator(4);
  const ref = getBackend('reference');
  const x = randn([2, 3, 9, 8], { generator: g, backend: ref }).to(backendName).requiresGrad_();
  const w = randn([4, 3, 3, 2], { generator: g, backend: ref }).to(backendName).requiresGrad_();
  const y = conv2d(x, w, null, { stride: 2, padding: [1, 2], dilation: [1, 2] });
  // a non-uniform upstream gradient, so a transposed or flipped index shows
  const weights = randn(y.shape, { generator: g, backend: ref }).to(backendName);
  // y^2: the upstream gradient depends on x and w, so second order differentiates it too
  const [gx, gw] = grad(y.mul(y).mul(weights).sum(), [x, w], { createGraph: true }) as [Tensor, Tensor];
  const [hx, hw] = grad(gx.mul(gx).sum().add(gw.mul(gw).sum()), [x, w]) as [Tensor, Tensor];
  return { y, gx, gw, hx, hw };
}

describe('fused composites', () => {
  it('the reference backend has no fused kernels, and calling the primitive there says to use the composite op', () => {
    const ref = getBackend('reference');
    expect(hasKernel(ref, 'conv2d')).toBe(false);
    expect(hasKernel(ref, 'matmul')).toBe(true);
    const x = randn([1, 1, 4, 4], { backend: ref });
    const w = randn([1, 1, 3, 3], { backend: ref });
    const attrs = { stride: [1, 1] as [number, number], padding: [0, 0] as [number, number], dilation: [1, 1] as [number, number], groups: 1 };
    expect(() => runPrim('conv2d', [x, w], attrs)).toThrow(OpError);
    expect(() => runPrim('conv2d', [x, w], attrs)).toThrow(/fused 'conv2d' kernel/);
  });

  it('a backend with the kernels runs them for conv2d and both gradients, matching the decomposition to second order', () => {
    const want = run('reference');
    for (const k of Object.keys(calls)) delete calls[k];
    const got = run('fused-test');
    // forward once; first order: input and filter gradients; second order: the VJPs of all three
    // (conv2d again for the gradient wrt the upstream gradient)
    expect(calls.conv2d).toBeGreaterThanOrEqual(2);
    expect(calls.conv2dBackwardInput).toBeGreaterThanOrEqual(2);
    expect(calls.conv2dBackwardFilter).toBeGreaterThanOrEqual(2);
    for (const key of ['y', 'gx', 'gw', 'hx', 'hw'] as const) close(got[key], want[key], key);
  });

  it('a backend with only the forward kernel takes the decomposition for the gradients', () => {
    const want = run('reference');
    for (const k of Object.keys(calls)) delete calls[k];
    const got = run('fused-forward-only');
    // the forward pass only: the gradients (and their gradients) are fold/unfold + GEMMs
    expect(calls.conv2d).toBe(1);
    expect(calls.conv2dBackwardInput).toBeUndefined();
    expect(calls.conv2dBackwardFilter).toBeUndefined();
    for (const key of ['y', 'gx', 'gw', 'hx', 'hw'] as const) close(got[key], want[key], key);
  });

  it('validates the fused primitives\' operands', () => {
    const be = getBackend('fused-test');
    const attrs = { stride: [1, 1] as [number, number], padding: [0, 0] as [number, number], dilation: [1, 1] as [number, number], groups: 1 };
    const gy = randn([1, 2, 3, 3], { backend: be });
    const w = randn([2, 1, 3, 3], { backend: be });
    expect(() => runPrim('conv2dBackwardInput', [gy, w], { ...attrs, inputSize: [6, 5] })).toThrow(/does not match weight/);
    expect(runPrim('conv2dBackwardInput', [gy, w], { ...attrs, inputSize: [5, 5] }).shape).toEqual([1, 1, 5, 5]);
    const x = randn([1, 1, 5, 5], { backend: be });
    expect(() => runPrim('conv2dBackwardFilter', [x, gy], { ...attrs, kernel: [2, 2] })).toThrow(/does not match input/);
    expect(runPrim('conv2dBackwardFilter', [x, gy], { ...attrs, kernel: [3, 3] }).shape).toEqual([2, 1, 3, 3]);
  });
});
