/**
 * Adam (Kingma & Ba, 2015, Algorithm 1) and AdamW (Loshchilov & Hutter, 2019, decoupled weight
 * decay), following PyTorch's `_single_tensor_adam` operation for operation:
 *
 *   t = t + 1
 *   p = p * (1 - lr * weightDecay)                  (AdamW: decoupled decay)
 *   g = g + weightDecay * p                         (Adam: L2 folded into the gradient)
 *   m = lerp(m, g, 1 - beta1)                       (first moment)
 *   v = beta2 * v + (1 - beta2) * g * g             (second moment)
 *   vmax = max(vmax, v)                             (amsgrad only; used in place of v below)
 *   denom = sqrt(v) / sqrt(1 - beta2^t) + eps       (bias-corrected, eps outside the sqrt)
 *   p = p - (lr / (1 - beta1^t)) * m / denom
 *
 * The bias corrections are computed in double precision on the host, as PyTorch does when `step` is
 * not captured on the device.
 */
import { add, div, maximum, mul, neg, sqrt, sub } from '../ops/basic.js';
import { zerosLike } from '../creation.js';
import { OpError } from '../shape.js';
import { keep, type Tensor } from '../tensor.js';
import { Optimizer, type ParamGroup, type Params, type ParamState, stateTensor } from './optimizer.js';

export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** Decay rates of the first and second moment averages (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator for numerical stability (default 1e-8). */
  eps: number;
  /** L2 penalty for Adam (default 0), decoupled decay rate for AdamW (default 1e-2). */
  weightDecay: number;
  /** Use the maximum of past second moments (Reddi et al., 2018, "On the Convergence of Adam and Beyond"). */
  amsgrad: boolean;
  maximize: boolean;
  /** Apply weight decay to the parameter directly instead of through the gradient (this is AdamW). */
  decoupledWeightDecay: boolean;
}

/** `m + w * (g - m)`, switching form at w = 0.5 exactly as PyTorch's lerp kernel does. */
function lerp(m: Tensor, g: Tensor, w: number): Tensor {
  return Math.abs(w) < 0.5 ? add(m, mul(sub(g, m), w)) : sub(g, mul(sub(g, m), 1 - w));
}

export class Adam extends Optimizer<AdamOptions> {
  constructor(params: Params<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, decoupledWeightDecay: false, ...options });
  }

  protected override validateGroup(group: ParamGroup<AdamOptions>, index: number): void {
    super.validateGroup(group, index);
    const where = `group ${index}`;
    if (!(group.eps >= 0)) throw new OpError(this.name, `${where}: eps must be >= 0, got ${group.eps}`);
    if (!Array.isArray(group.betas) || group.betas.length !== 2) throw new OpError(this.name, `${where}: betas must be a pair [beta1, beta2], got ${JSON.stringify(group.betas)}`);
    group.betas.forEach((b, i) => {
      if (!(b >= 0 && b < 1)) throw new OpError(this.name, `${where}: betas[${i}] must be in [0, 1), got ${b}`);
    });
    if (!(group.weightDecay >= 0)) throw new OpError(this.name, `${where}: weightDecay must be >= 0, got ${group.weightDecay}`);
  }

  override updateParam(param: Tensor, grad: Tensor, group: ParamGroup<AdamOptions>, state: ParamState): void {
    const { lr, eps, weightDecay, amsgrad, maximize, decoupledWeightDecay } = group;
    const [beta1, beta2] = group.betas;
    let m = stateTensor(state, 'expAvg');
    let v = stateTensor(state, 'expAvgSq');
    if (!m || !v) {
      state.step = 0;
      m = state.expAvg = keep(zerosLike(param));
      v = state.expAvgSq = keep(zerosLike(param));
    }
    let vmax = stateTensor(state, 'maxExpAvgSq');
    if (amsgrad && !vmax) vmax = state.maxExpAvgSq = keep(zerosLike(param));
    const step = (state.step = (state.step as number) + 1);

    let g = maximize ? neg(grad) : grad;
    if (weightDecay !== 0) {
      if (decoupledWeightDecay) param.assign(mul(param, 1 - lr * weightDecay));
      else g = add(g, mul(param, weightDecay));
    }
    m.assign(lerp(m, g, 1 - beta1));
    v.assign(add(mul(v, beta2), mul(mul(g, 1 - beta2), g)));

    const biasCorrection1 = 1 - beta1 ** step;
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
    const stepSize = lr / biasCorrection1;
    let second = v;
    if (amsgrad) second = vmax!.assign(maximum(vmax!, v));
    const denom = add(div(sqrt(second), biasCorrection2Sqrt), eps);
    // addcdiv's kernel evaluates (value * m) / denom; keep that association.
    param.assign(add(param, div(mul(m, -stepSize), denom)));
  }
}

/** Adam with decoupled weight decay (default 1e-2); PyTorch `torch.optim.AdamW`. */
export class AdamW extends Adam {
  constructor(params: Params<AdamOptions>, options: Partial<Omit<AdamOptions, 'decoupledWeightDecay'>> = {}) {
    super(params, { weightDecay: 1e-2, ...options, decoupledWeightDecay: true });
  }
}
