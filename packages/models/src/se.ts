/**
 * Squeeze-and-Excitation (Hu et al., "Squeeze-and-Excitation Networks", CVPR 2018), section 3:
 *
 *   z_c = (1 / HW) sum_{i,j} u_c(i, j)            squeeze: global average pool (eq. 2)
 *   s   = sigmoid(W2 relu(W1 z))                    excitation, W1: C/r x C, W2: C x C/r (eq. 3)
 *   x~_c = s_c * u_c                                 scale (eq. 4)
 *
 * The two fully-connected layers are the children `fc1` and `fc2` (with biases, as the authors'
 * Caffe release has), so the state-dict keys read `attention.fc1.weight`, `attention.fc2.bias`
 * inside a ResNet block; the PyTorch twin in tools/golden/models_golden.py uses the same names.
 */
import { mean, mul, nn, OpError, reshape, type Tensor } from '@methodzoo/core';

export interface SEBlockOptions extends nn.FactoryOptions {
  /** r in the paper (16). The bottleneck has max(1, floor(C / r)) units. */
  reduction?: number;
  /** Biases on fc1 and fc2 (true). */
  bias?: boolean;
}

/**
 * Channel attention: rescales each channel of x by a gate computed from its global average.
 *
 * Args:
 *   channels: C, the number of input channels.
 *   opts.reduction: r (16); opts.bias (true); dtype, backend, generator for the Linear layers.
 *
 * Shape: x [N, C, H, W] -> [N, C, H, W].
 *
 * State-dict keys: `fc1.weight` [C/r, C], `fc1.bias` [C/r], `fc2.weight` [C, C/r], `fc2.bias` [C].
 *
 * Example:
 * ```ts
 * const se = new SEBlock(64);
 * se.call(randn([2, 64, 8, 8])).shape; // [2, 64, 8, 8]
 * se.numParameters(); // 64*4 + 4 + 4*64 + 64 = 580
 * ```
 */
export class SEBlock extends nn.Module {
  readonly channels: number;
  readonly hidden: number;
  fc1: nn.Linear;
  fc2: nn.Linear;

  constructor(channels: number, opts: SEBlockOptions = {}) {
    super();
    const r = opts.reduction ?? 16;
    if (!Number.isInteger(channels) || channels <= 0) throw new OpError('SEBlock', `channels must be a positive integer, got ${channels}`);
    if (!(r > 0)) throw new OpError('SEBlock', `reduction must be positive, got ${r}`);
    this.channels = channels;
    this.hidden = Math.max(1, Math.floor(channels / r));
    const lin = { ...opts, bias: opts.bias ?? true };
    this.fc1 = new nn.Linear(channels, this.hidden, lin);
    this.fc2 = new nn.Linear(this.hidden, channels, lin);
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.channels) throw new OpError('SEBlock', `expected input [N, ${this.channels}, H, W], got [${x.shape.join(', ')}]`);
    const z = mean(x, [2, 3]);
    const s = this.fc2.call(this.fc1.call(z).relu()).sigmoid();
    return mul(x, reshape(s, [x.shape[0]!, this.channels, 1, 1]));
  }

  override extraRepr(): string {
    return `channels=${this.channels}, hidden=${this.hidden}`;
  }
}
