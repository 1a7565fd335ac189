/**
 * Stochastic gradient descent with momentum, PyTorch `torch.optim.SGD` (the single-tensor path of
 * `_single_tensor_sgd`), in the same order of operations:
 *
 *   g = maximize ? -grad : grad
 *   g = g + weightDecay * p                        (L2, coupled)
 *   buf = g                                        (first step)
 *   buf = momentum * buf + (1 - dampening) * g     (later steps)
 *   g = nesterov ? g + momentum * buf : buf
 *   p = p - lr * g
 */
import { add, mul, neg, sub } from '../ops/basic.js';
import { OpError } from '../shape.js';
import { keep, type Tensor } from '../tensor.js';
import { Optimizer, type ParamGroup, type Params, type ParamState, stateTensor } from './optimizer.js';

export interface SGDOptions {
  /** Learning rate (default 1e-3, as PyTorch). */
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** Ascend the objective instead of descending. */
  maximize: boolean;
}

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Params<SGDOptions>, options: Partial<SGDOptions> = {}) {
    super(params, { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...options });
  }

  protected override validateGroup(group: ParamGroup<SGDOptions>, index: number): void {
    super.validateGroup(group, index);
    if (!(group.momentum >= 0)) throw new OpError('SGD', `group ${index}: momentum must be >= 0, got ${group.momentum}`);
    if (!(group.weightDecay >= 0)) throw new OpError('SGD', `group ${index}: weightDecay must be >= 0, got ${group.weightDecay}`);
    if (group.nesterov && (group.momentum <= 0 || group.dampening !== 0)) {
      throw new OpError('SGD', `group ${index}: nesterov needs momentum > 0 and dampening 0, got momentum ${group.momentum}, dampening ${group.dampening}`);
    }
  }

  override updateParam(param: Tensor, grad: Tensor, group: ParamGroup<SGDOptions>, state: ParamState): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    let g = maximize ? neg(grad) : grad;
    if (weightDecay !== 0) g = add(g, mul(param, weightDecay));
    if (momentum !== 0) {
      const buf = stateTensor(state, 'momentumBuffer');
      let next: Tensor;
      if (!buf) {
        // detach shares g's storage, which nothing overwrites in place: a free copy.
        next = state.momentumBuffer = keep(g.detach());
      } else {
        next = buf.assign(add(mul(buf, momentum), dampening === 0 ? g : mul(g, 1 - dampening)));
      }
      g = nesterov ? add(g, mul(next, momentum)) : next;
    }
    param.assign(sub(param, mul(g, lr)));
  }
}
