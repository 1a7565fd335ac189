/**
 * Fused composites: each runs its backend's fused kernel when the backend registered one, else its
 * decomposition into primitives (the definition the conformance suite checks fused kernels
 * against). Both paths are differentiable: the fused primitives' gradient rules call back in here,
 * so second-order gradients work with or without the kernels.
 */
import { hasKernel } from '../backend.js';
import { type Conv2dAttrs, type Conv2dGeometry, convOutputSize } from '../prims.js';
import { runPrim, type Tensor } from '../tensor.js';
import { gt, matmul, permute, reshape, where } from './basic.js';

const geometry = (attrs: Conv2dAttrs, kernel: [number, number]): Conv2dGeometry => ({
  kernel,
  stride: attrs.stride,
  padding: attrs.padding,
  dilation: attrs.dilation,
});
const convAttrs = (attrs: Conv2dAttrs): Conv2dAttrs => ({ stride: attrs.stride, padding: attrs.padding, dilation: attrs.dilation, groups: attrs.groups });

/** Convolution of x [N, C, H, W] with weight [O, C/groups, kh, kw] (symmetric padding, no bias). */
export function conv2dFused(x: Tensor, weight: Tensor, attrs: Conv2dAttrs): Tensor {
  if (hasKernel(x.backend, 'conv2d')) return runPrim('conv2d', [x, weight], convAttrs(attrs));
  return conv2dDecomposed(x, weight, attrs);
}

/** im2col (`unfold`) + one GEMM per group. */
export function conv2dDecomposed(x: Tensor, weight: Tensor, attrs: Conv2dAttrs): Tensor {
  const { groups } = attrs;
  const n = x.shape[0]!;
  const [o, cg, kh, kw] = weight.shape as [number, number, number, number];
  const g = geometry(attrs, [kh, kw]);
  const [oh, ow] = convOutputSize('conv2d', x.shape[2]!, x.shape[3]!, g);
  const cols = runPrim('unfold', [x], g); // [N, C*kh*kw, L]
  const y =
    groups === 1
      ? matmul(reshape(weight, [o, cg * kh * kw]), cols)
      : matmul(reshape(weight, [groups, o / groups, cg * kh * kw]), reshape(cols, [n, groups, cg * kh * kw, oh * ow]));
  return reshape(y, [n, o, oh, ow]);
}

/** Gradient of conv2d wrt its input: grad [N, O, OH, OW] and weight -> [N, C, ...inputSize]. */
export function conv2dBackwardInput(grad: Tensor, weight: Tensor, attrs: Conv2dAttrs, inputSize: [number, number]): Tensor {
  if (hasKernel(grad.backend, 'conv2dBackwardInput')) return runPrim('conv2dBackwardInput', [grad, weight], { ...convAttrs(attrs), inputSize });
  // W^T grad (one GEMM per group), then col2im (`fold`) sums the overlapping windows.
  const { groups } = attrs;
  const [n, o, oh, ow] = grad.shape as [number, number, number, number];
  const [, cg, kh, kw] = weight.shape as [number, number, number, number];
  const ck = cg * kh * kw;
  const cols =
    groups === 1
      ? runPrim('matmul', [reshape(weight, [1, o, ck]), reshape(grad, [n, o, oh * ow])], { transA: true, transB: false })
      : matmul(permute(reshape(weight, [groups, o / groups, ck]), [0, 2, 1]), reshape(grad, [n, groups, o / groups, oh * ow]));
  return runPrim('fold', [reshape(cols, [n, groups * ck, oh * ow])], { ...geometry(attrs, [kh, kw]), outputSize: inputSize });
}

/** Gradient of conv2d wrt its weight: x [N, C, H, W] and grad [N, O, OH, OW] -> [O, C/groups, ...kernel]. */
export function conv2dBackwardFilter(x: Tensor, grad: Tensor, attrs: Conv2dAttrs, kernel: [number, number]): Tensor {
  if (hasKernel(x.backend, 'conv2dBackwardFilter')) return runPrim('conv2dBackwardFilter', [x, grad], { ...convAttrs(attrs), kernel });
  // grad x im2col(x)^T with the batch folded into the contraction: one GEMM per group.
  const { groups } = attrs;
  const [n, c] = x.shape as [number, number];
  const [, o, oh, ow] = grad.shape as [number, number, number, number];
  const cg = c / groups;
  const ck = cg * kernel[0] * kernel[1];
  const l = oh * ow;
  const cols = runPrim('unfold', [x], geometry(attrs, kernel)); // [N, C*kh*kw, L]
  let gw: Tensor;
  if (groups === 1) {
    const gWide = reshape(permute(reshape(grad, [n, o, l]), [1, 0, 2]), [1, o, n * l]);
    const colsTall = reshape(permute(cols, [0, 2, 1]), [1, n * l, ck]);
    gw = runPrim('matmul', [gWide, colsTall], { transA: false, transB: false });
  } else {
    const gWide = reshape(permute(reshape(grad, [n, groups, o / groups, l]), [1, 2, 0, 3]), [groups, o / groups, n * l]);
    const colsTall = reshape(permute(reshape(cols, [n, groups, ck, l]), [1, 0, 3, 2]), [groups, n * l, ck]);
    gw = runPrim('matmul', [gWide, colsTall], { transA: false, transB: false });
  }
  return reshape(gw, [o, cg, kernel[0], kernel[1]]);
}

/**
 * Gradient of relu: `grad` where x > 0, else 0 (NaN in x gives 0, as `x > 0` is false). One pass
 * on a backend with the kernel; otherwise `where(x > 0, grad, 0)`, which builds a mask first.
 */
export function reluBackward(grad: Tensor, x: Tensor): Tensor {
  if (hasKernel(grad.backend, 'reluBackward')) return runPrim('reluBackward', [grad, x], {});
  return reluBackwardDecomposed(grad, x);
}

/** The definition fused kernels are checked against. */
export function reluBackwardDecomposed(grad: Tensor, x: Tensor): Tensor {
  return where(gt(x, 0), grad, 0);
}
