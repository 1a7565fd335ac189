/**
 * Grad-CAM (Selvaraju et al., ICCV 2017), the heat map the LSAS paper (arXiv 2305.05200, section I)
 * reads attention bias from:
 *
 *   alpha_c = mean_{h,w} d y_class / d A_c          A = the layer's output [N, C, h, w]
 *   H       = ReLU(sum_c alpha_c A_c)                 bilinearly resized to the input's H x W,
 *                                                     then min-max normalised to [0, 1] per sample
 *
 * The activation is captured with a forward hook on `layer` and differentiated with the core's
 * `grad()`, so parameters' `.grad` are left untouched.
 */
import { enableGrad, grad, interpolate, keep, mean, nn, OpError, relu, scope, sum, tensor, type Tensor } from '@methodzoo/core';

export interface GradCamOptions {
  /** Output size [H, W] (the input's spatial size by default). */
  size?: [number, number];
}

/**
 * Grad-CAM maps [N, H, W] in [0, 1] of `model` at `layer` (a submodule whose output is [N, C, h, w])
 * for the class of each sample (`classIndex` is one class for all or one per sample). A map that is
 * zero everywhere (no positive evidence) stays zero. The model is run as it is: put it in eval mode
 * first if BatchNorm should use its running statistics.
 */
export function gradCam(model: nn.Module, layer: nn.Module, x: Tensor, classIndex: number | readonly number[], opts: GradCamOptions = {}): Tensor {
  if (x.ndim !== 4) throw new OpError('gradCam', `expected input [N, C, H, W], got [${x.shape.join(', ')}]`);
  const n = x.shape[0]!;
  const classes = typeof classIndex === 'number' ? new Array<number>(n).fill(classIndex) : [...classIndex];
  if (classes.length !== n) throw new OpError('gradCam', `classIndex must have one entry per sample (${n}), got ${classes.length}`);
  let act: Tensor | null = null;
  const handle = layer.registerForwardHook((_m, _args, out) => {
    act = out as Tensor;
  });
  try {
    const raw = scope(() => {
      const logits = enableGrad(() => model.call(x) as Tensor);
      if (logits.ndim !== 2 || logits.shape[0] !== n) throw new OpError('gradCam', `model must return logits [${n}, K], got [${logits.shape.join(', ')}]`);
      const k = logits.shape[1]!;
      const a = act as Tensor | null;
      if (!a) throw new OpError('gradCam', 'layer was not called during the forward pass');
      if (a.ndim !== 4) throw new OpError('gradCam', `layer output must be [N, C, h, w], got [${a.shape.join(', ')}]`);
      if (!a.requiresGrad) throw new OpError('gradCam', 'layer output does not require grad (are all parameters frozen, or is this inside noGrad?)');
      const onehot = new Float32Array(n * k);
      classes.forEach((c, i) => {
        if (!Number.isInteger(c) || c < 0 || c >= k) throw new OpError('gradCam', `classIndex must be in 0..${k - 1}, got ${c}`);
        onehot[i * k + c] = 1;
      });
      const score = sum(logits.mul(tensor(onehot, { shape: [n, k], dtype: logits.dtype })));
      const [dA] = grad(score, [a]);
      const alpha = mean(dA!, [2, 3], { keepdim: true });
      const cam = relu(sum(alpha.mul(a.detach()), 1, { keepdim: true }));
      const size = opts.size ?? [x.shape[2]!, x.shape[3]!];
      return keep(interpolate(cam, { size, mode: 'bilinear', alignCorners: false }));
    });
    const [, , hh, ww] = raw.shape as [number, number, number, number];
    const data = Float32Array.from(raw.dataSync());
    raw.dispose();
    const per = hh * ww;
    for (let i = 0; i < n; i++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let p = i * per; p < (i + 1) * per; p++) {
        lo = Math.min(lo, data[p]!);
        hi = Math.max(hi, data[p]!);
      }
      const span = hi - lo;
      for (let p = i * per; p < (i + 1) * per; p++) data[p] = span > 0 ? (data[p]! - lo) / span : 0;
    }
    return tensor(data, { shape: [n, hh, ww] });
  } finally {
    handle.remove();
  }
}
