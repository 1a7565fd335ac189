/**
 * Normalisation layers (PyTorch `torch/nn/modules/batchnorm.py` and `normalization.py`). Learned
 * affine parameters are `weight` (init 1) and `bias` (init 0); BatchNorm's running statistics are
 * buffers (`running_mean`, `running_var`, `num_batches_tracked`), so they are in the state dict but
 * not in `parameters()`.
 */
import { full } from '../creation.js';
import { add } from '../ops/basic.js';
import { batchNorm, groupNorm, layerNorm } from '../ops/nn.js';
import { fmtShape, OpError } from '../shape.js';
import { noGrad, type Tensor } from '../tensor.js';
import { constant_, ones_, zeros_ } from './init.js';
import { emptyParameter, type FactoryOptions, Module, type Parameter } from './module.js';

export interface BatchNormOptions extends FactoryOptions {
  /** Added to the variance for stability (1e-5). */
  eps?: number;
  /**
   * Weight of the current batch in the running statistics (0.1): running = (1 - m) running + m batch,
   * with the unbiased batch variance. `null` keeps a cumulative average (m = 1 / num_batches_tracked,
   * which reads the counter back from the backend).
   */
  momentum?: number | null;
  /** Learn a per-channel `weight` and `bias` (true). */
  affine?: boolean;
  /** Keep running statistics for eval mode (true); when false, batch statistics are used in both modes. */
  trackRunningStats?: boolean;
}

/** Shared body of BatchNorm1d/2d (PyTorch `_BatchNorm`). */
abstract class BatchNormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Parameter | null;
  bias: Parameter | null;
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  /** int32 scalar counting training batches (int64 in PyTorch; loading casts). */
  declare num_batches_tracked: Tensor | null;

  constructor(numFeatures: number, opts: BatchNormOptions) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures <= 0) throw new OpError(this.constructor.name, `numFeatures must be a positive integer, got ${numFeatures}`);
    this.numFeatures = numFeatures;
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    this.weight = this.affine ? emptyParameter([numFeatures], opts) : null;
    this.bias = this.affine ? emptyParameter([numFeatures], opts) : null;
    const on = { dtype: opts.dtype ?? 'float32', backend: opts.backend };
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', full([numFeatures], 0, on));
      this.registerBuffer('running_var', full([numFeatures], 1, on));
      this.registerBuffer('num_batches_tracked', full([], 0, { dtype: 'int32', backend: opts.backend }));
    } else {
      this.registerBuffer('running_mean', null);
      this.registerBuffer('running_var', null);
      this.registerBuffer('num_batches_tracked', null);
    }
    this.resetParameters();
  }

  /** Running mean 0, running variance 1, counter 0. */
  resetRunningStats(): void {
    if (this.running_mean) zeros_(this.running_mean);
    if (this.running_var) ones_(this.running_var);
    if (this.num_batches_tracked) constant_(this.num_batches_tracked, 0);
  }

  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight) ones_(this.weight);
    if (this.bias) zeros_(this.bias);
  }

  protected abstract checkInputDim(x: Tensor): void;

  forward(x: Tensor): Tensor {
    this.checkInputDim(x);
    if (x.shape[1] !== this.numFeatures) throw new OpError(this.constructor.name, `expected ${this.numFeatures} channels in dim 1, got input ${fmtShape(x.shape)}`);
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats && this.num_batches_tracked) {
      const nbt = this.num_batches_tracked;
      noGrad(() => {
        const next = add(nbt, 1);
        nbt.assign(next);
        next.dispose();
      });
      if (this.momentum === null) factor = 1 / nbt.item();
    }
    // Batch statistics in training, and in eval too when no running statistics are kept.
    const useBatchStats = this.training || (this.running_mean === null && this.running_var === null);
    const track = !this.training || this.trackRunningStats;
    return batchNorm(x, track ? this.running_mean : null, track ? this.running_var : null, this.weight, this.bias, {
      training: useBatchStats,
      momentum: factor,
      eps: this.eps,
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum ?? 'None'}, affine=${this.affine ? 'True' : 'False'}, track_running_stats=${this.trackRunningStats ? 'True' : 'False'}`;
  }
}

/**
 * Batch normalisation over a 2-D or 3-D input (Ioffe & Szegedy, 2015):
 * y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias, statistics per channel over the batch (and length).
 *
 * Args:
 *   numFeatures: C.
 *   opts.eps (1e-5), opts.momentum (0.1, or null for a cumulative average), opts.affine (true),
 *   opts.trackRunningStats (true).
 *
 * Shape:
 *   input [N, C] or [N, C, L] -> output of the same shape.
 *
 * State-dict keys: `weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked`.
 *
 * Example:
 * ```ts
 * const bn = new BatchNorm1d(100);
 * bn.call(randn([20, 100])).shape; // [20, 100]
 * ```
 */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, opts);
  }
  protected checkInputDim(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) throw new OpError('BatchNorm1d', `expected 2D or 3D input (got ${x.ndim}D input of shape ${fmtShape(x.shape)})`);
  }
}

/**
 * Batch normalisation over a 4-D input [N, C, H, W]; statistics per channel over N, H and W.
 *
 * Args: as BatchNorm1d.
 *
 * Shape:
 *   input [N, C, H, W] -> output of the same shape.
 *
 * State-dict keys: `weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked`.
 *
 * Example:
 * ```ts
 * const bn = new BatchNorm2d(16);
 * bn.call(randn([8, 16, 32, 32])); // training: batch statistics, running stats updated
 * bn.eval().call(x);               // eval: running statistics
 * ```
 */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, opts);
  }
  protected checkInputDim(x: Tensor): void {
    if (x.ndim !== 4) throw new OpError('BatchNorm2d', `expected 4D input (got ${x.ndim}D input of shape ${fmtShape(x.shape)})`);
  }
}

export interface LayerNormOptions extends FactoryOptions {
  eps?: number;
  /** Learn `weight` (and `bias`, unless `bias: false`) of shape normalizedShape (true). */
  elementwiseAffine?: boolean;
  /** Learn `bias` when elementwiseAffine (true). */
  bias?: boolean;
}

/**
 * Layer normalisation (Ba et al., 2016) over the trailing `normalizedShape` dims, with the biased
 * variance, as PyTorch.
 *
 * Args:
 *   normalizedShape: a size or the trailing shape to normalise over.
 *   opts.eps (1e-5), opts.elementwiseAffine (true), opts.bias (true).
 *
 * Shape:
 *   input [*, ...normalizedShape] -> output of the same shape.
 *
 * State-dict keys: `weight`, `bias` (each of shape normalizedShape).
 *
 * Example:
 * ```ts
 * new LayerNorm(64).call(randn([2, 10, 64])).shape; // [2, 10, 64]
 * ```
 */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (!shape.every((d) => Number.isInteger(d) && d > 0)) throw new OpError('LayerNorm', `normalizedShape must be positive integers, got ${JSON.stringify(normalizedShape)}`);
    this.normalizedShape = shape;
    this.eps = opts.eps ?? 1e-5;
    this.elementwiseAffine = opts.elementwiseAffine ?? true;
    this.weight = this.elementwiseAffine ? emptyParameter(shape, opts) : null;
    this.bias = this.elementwiseAffine && opts.bias !== false ? emptyParameter(shape, opts) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    if (this.weight) ones_(this.weight);
    if (this.bias) zeros_(this.bias);
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `(${this.normalizedShape.join(', ')},), eps=${this.eps}, elementwise_affine=${this.elementwiseAffine ? 'True' : 'False'}`;
  }
}

export interface GroupNormOptions extends FactoryOptions {
  eps?: number;
  /** Learn per-channel `weight` and `bias` (true). */
  affine?: boolean;
}

/**
 * Group normalisation (Wu & He, 2018): channels split into `numGroups` groups, each normalised per
 * sample over its channels and spatial positions; then a per-channel affine transform.
 *
 * Args:
 *   numGroups: groups to split the channels into (must divide numChannels).
 *   numChannels: C.
 *   opts.eps (1e-5), opts.affine (true).
 *
 * Shape:
 *   input [N, C, *] -> output of the same shape.
 *
 * State-dict keys: `weight`, `bias` (each [C]).
 *
 * Example:
 * ```ts
 * new GroupNorm(3, 6).call(randn([20, 6, 10, 10])).shape; // [20, 6, 10, 10]
 * ```
 */
export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(numGroups: number, numChannels: number, opts: GroupNormOptions = {}) {
    super();
    if (!Number.isInteger(numGroups) || numGroups <= 0 || !Number.isInteger(numChannels) || numChannels % numGroups !== 0) {
      throw new OpError('GroupNorm', `numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`);
    }
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = opts.eps ?? 1e-5;
    this.affine = opts.affine ?? true;
    this.weight = this.affine ? emptyParameter([numChannels], opts) : null;
    this.bias = this.affine ? emptyParameter([numChannels], opts) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    if (this.weight) ones_(this.weight);
    if (this.bias) zeros_(this.bias);
  }

  forward(x: Tensor): Tensor {
    if (x.ndim < 2 || x.shape[1] !== this.numChannels) throw new OpError('GroupNorm', `expected input [N, ${this.numChannels}, *], got ${fmtShape(x.shape)}`);
    return groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.eps}, affine=${this.affine ? 'True' : 'False'}`;
  }
}
