/**
 * Fused composites: a backend that registers conv2d / conv2dBackwardInput / conv2dBackwardFilter
 * kernels gets them from `conv2d` and from its gradient rules (first and second order), and the
 * results equal the unfold + GEMM decomposition; a backend without them keeps the decomposition.
 */
import { describe, expect, it } from 'vitest';
import {
  conv2d, Generator, getBackend, grad, hasKernel, type Kernel, type KernelTable, type KernelTensor, OpError, randn, ReferenceBackend, referenceKernels, registerBackend, reluBackwardDecomposed, runPrim,
  type Tensor, tensor, type TypedArray,
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

describe('reluBackward (fused relu gradient)', () => {
  const special = [NaN, -Infinity, -2, -0, 0, 1e-30, 3, Infinity];

  it('the reference kernel equals where(x > 0, grad, 0) bit for bit, float32 (masked path) and float64', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const n of [8, 100]) {
        const xs = Array.from({ length: n }, (_, i) => special[i % special.length]!);
        const gs = Array.from({ length: n }, (_, i) => special[(i * 3 + 1) % special.length]!);
        const x = tensor(xs, { dtype });
        const g = tensor(gs, { dtype });
        const fused = runPrim('reluBackward', [g, x], {});
        const want = reluBackwardDecomposed(g, x);
        expect(Object.is(fused.dataSync()[4], 0)).toBe(true); // x = 0: +0, never grad's -0 or NaN
        const a = Array.from(fused.dataSync() as ArrayLike<number>);
        const b = Array.from(want.dataSync() as ArrayLike<number>);
        a.forEach((v, i) => expect(Object.is(v, b[i]!), `${dtype} n=${n} element ${i}: ${v} vs ${b[i]}`).toBe(true));
      }
    }
  });

  it('relu\'s gradient goes through it on a backend with the kernel, and second order matches the decomposition', () => {
    expect(hasKernel(getBackend('reference'), 'reluBackward')).toBe(true);
    const x = randn([4, 5], { generator: new Generator(3), dtype: 'float64' }).requiresGrad_();
    const w = randn([4, 5], { generator: new Generator(4), dtype: 'float64' });
    const [gx] = grad(x.relu().mul(w).mul(x).sum(), [x], { createGraph: true }) as [Tensor];
    const [hx] = grad(gx.mul(gx).sum(), [x]) as [Tensor];
    // d/dx sum(relu(x) w x) = w x [x>0] + relu(x) w; the second-order term only ever sees grad through the mask
    const xv = x.dataSync();
    const wv = w.dataSync();
    const gv = gx.dataSync();
    const hv = hx.dataSync();
    for (let i = 0; i < 20; i++) {
      const on = xv[i]! > 0 ? 1 : 0;
      expect(gv[i]).toBeCloseTo(on * 2 * wv[i]! * xv[i]!, 12);
      expect(hv[i]).toBeCloseTo(on * 8 * wv[i]! * wv[i]! * xv[i]!, 10);
    }
  });

  it('names the operand that is wrong', () => {
    const x = randn([2, 3]);
    expect(() => runPrim('reluBackward', [randn([3, 2]), x], {})).toThrow(/grad \[3, 2\] and input \[2, 3\] must have the same shape/);
    expect(() => runPrim('reluBackward', [randn([2, 3], { dtype: 'float64' }), x], {})).toThrow(/different dtypes/);
    expect(() => runPrim('reluBackward', [tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'int32' }), tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'int32' })], {})).toThrow(/grad must be a floating-point tensor, got int32/);
  });
});
