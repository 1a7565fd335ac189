/**
 * ASRNorm: Attention-alike Structural Re-parameterization on a BatchNorm (Huang, Zhong et al.,
 * ECCV 2024, arXiv 2304.06345, fig. 2 and section 3.2):
 *
 *   training:   y = BN(x) * v,   v = T_theta(psi)        psi a learned [1, C, 1, 1] input, init 0.1
 *   inference:  y = BN_{gamma*v, beta*v}(x)                (v folded into the BN affine parameters)
 *
 * The fold is exact because the BN statistics are computed on x before the scale:
 * BN(x)_c v_c = v_c gamma_c (x_c - mu_c) / sqrt(var_c + eps) + v_c beta_c. The gate never sees the
 * data, so it is the same for every sample and batch size and costs nothing once folded.
 */
import { mul, nn, noGrad, OpError, reshape, scope, type Tensor } from '@methodzoo/core';
import { type GateFactory, resolveGate } from './gates.js';

export interface ASRNormOptions extends nn.BatchNormOptions {
  /** The attention module T_theta: 'se' (default, reduction 16), 'eca', or a gate factory. */
  attention?: 'se' | 'eca' | GateFactory;
  /** Initial value of every entry of psi (0.1, as the official code). */
  psiInit?: number;
}

/**
 * Drop-in replacement for `BatchNorm2d(numFeatures)` whose output is scaled by the learned constant
 * gate `a = attention(psi)`.
 *
 * Children (state-dict order): `psi` [1, C, 1, 1], `bn` (a BatchNorm2d), `attention` (the gate).
 *
 * Shape: x [N, C, H, W] -> [N, C, H, W].
 *
 * Example:
 * ```ts
 * const norm = new ASRNorm(64);          // BN + SE(64, r = 16) on psi = 0.1
 * norm.call(randn([8, 64, 4, 4])).shape; // [8, 64, 4, 4]
 * norm.toBatchNorm();                    // a plain BatchNorm2d computing the same in eval mode
 * ```
 */
export class ASRNorm extends nn.Module {
  readonly numFeatures: number;
  psi: nn.Parameter;
  bn: nn.BatchNorm2d;
  attention: nn.Module;

  /** Wraps an existing BatchNorm2d (its parameters and running statistics are kept, not copied). */
  static fromBatchNorm(bn: nn.BatchNorm2d, opts: Omit<ASRNormOptions, keyof nn.BatchNormOptions> & nn.FactoryOptions = {}): ASRNorm {
    return new ASRNorm(bn.numFeatures, { ...opts, dtype: opts.dtype ?? bn.weight?.dtype }, bn);
  }

  constructor(numFeatures: number, opts: ASRNormOptions = {}, bn?: nn.BatchNorm2d) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures <= 0) throw new OpError('ASRNorm', `numFeatures must be a positive integer, got ${numFeatures}`);
    if (opts.affine === false || (bn && !bn.affine)) throw new OpError('ASRNorm', 'the BatchNorm must be affine (the gate folds into its weight and bias)');
    const layer: nn.FactoryOptions = { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };
    this.numFeatures = numFeatures;
    const psiInit = opts.psiInit ?? 0.1;
    const t = nn.emptyParameter([1, numFeatures, 1, 1], layer);
    nn.init.constant_(t, psiInit);
    this.psi = t;
    this.bn = bn ?? new nn.BatchNorm2d(numFeatures, { ...layer, eps: opts.eps, momentum: opts.momentum, trackRunningStats: opts.trackRunningStats });
    this.attention = resolveGate(opts.attention)(numFeatures, layer);
  }

  /** The gate a = attention(psi), [1, C, 1, 1], in (0, 1) for sigmoid gates; differentiable. */
  gate(): Tensor {
    const a = this.attention.call(this.psi) as Tensor;
    if (a.shape.length !== 4 || a.shape[0] !== 1 || a.shape[1] !== this.numFeatures || a.shape[2] !== 1 || a.shape[3] !== 1) {
      throw new OpError('ASRNorm', `the attention module must map [1, ${this.numFeatures}, 1, 1] to a gate [1, ${this.numFeatures}, 1, 1], got [${a.shape.join(', ')}]`);
    }
    return a;
  }

  forward(x: Tensor): Tensor {
    return mul(this.bn.call(x), this.gate());
  }

  /** The folded affine parameters gamma * a and beta * a, [C] each (new tensors, no graph). */
  foldedAffine(): { weight: Tensor; bias: Tensor } {
    return noGrad(() =>
      scope(() => {
        const a = reshape(this.gate(), [this.numFeatures]);
        return { weight: mul(this.bn.weight!, a), bias: mul(this.bn.bias!, a) };
      }),
    );
  }

  /**
   * A plain BatchNorm2d equal to this layer in eval mode: weight gamma * a, bias beta * a, copies of
   * the running statistics and counter, same eps and momentum, in eval mode.
   */
  toBatchNorm(): nn.BatchNorm2d {
    const bn = this.bn;
    const w = bn.weight!;
    const out = new nn.BatchNorm2d(this.numFeatures, { eps: bn.eps, momentum: bn.momentum, trackRunningStats: bn.trackRunningStats, dtype: w.dtype, backend: w.backend });
    const { weight, bias } = this.foldedAffine();
    noGrad(() => scope(() => {
      out.weight!.assign(weight);
      out.bias!.assign(bias);
      if (bn.running_mean && out.running_mean) out.running_mean.assign(bn.running_mean.clone());
      if (bn.running_var && out.running_var) out.running_var.assign(bn.running_var.clone());
      if (bn.num_batches_tracked && out.num_batches_tracked) out.num_batches_tracked.assign(bn.num_batches_tracked.clone());
    }));
    weight.dispose();
    bias.dispose();
    return out.eval();
  }

  override extraRepr(): string {
    return `${this.numFeatures}`;
  }
}
