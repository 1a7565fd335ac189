/** Linear layers (PyTorch `torch/nn/modules/linear.py`). */
import { linear } from '../ops/nn.js';
import type { Generator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { kaimingUniform_, uniform_, calculateFanInAndFanOut } from './init.js';
import { emptyParameter, type FactoryOptions, Module, type Parameter } from './module.js';

/**
 * Returns its input unchanged; a placeholder that keeps a model's structure (for example where a
 * method removes a layer).
 *
 * Example: `new Identity().call(x) === x`
 */
export class Identity extends Module {
  forward<T>(x: T): T {
    return x;
  }
}

/**
 * PyTorch's bias initialisation for Linear and Conv: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), where fan_in
 * is that of `weight`.
 */
export function initBiasFromWeight(bias: Tensor, weight: Tensor, generator?: Generator): void {
  const { fanIn } = calculateFanInAndFanOut(weight);
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  uniform_(bias, -bound, bound, { generator });
}

export interface LinearOptions extends FactoryOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * Applies y = x W^T + b.
 *
 * Args:
 *   inFeatures: size of each input sample.
 *   outFeatures: size of each output sample.
 *   opts.bias: learn an additive bias (default true).
 *
 * Shape:
 *   input [*, inFeatures] -> output [*, outFeatures].
 *
 * Parameters (state-dict keys): `weight` [outFeatures, inFeatures], initialised
 * U(-1/sqrt(inFeatures), 1/sqrt(inFeatures)) (kaiming_uniform with a = sqrt(5)); `bias`
 * [outFeatures], same bound.
 *
 * Example:
 * ```ts
 * const fc = new Linear(20, 30);
 * fc.call(randn([128, 20])).shape; // [128, 30]
 * ```
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    for (const [n, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new TypeError(`Linear: ${n} must be a non-negative integer, got ${v}`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = emptyParameter([outFeatures, inFeatures], opts);
    this.bias = opts.bias === false ? null : emptyParameter([outFeatures], opts);
    this.resetParameters(opts.generator);
  }

  /** PyTorch's `reset_parameters`. */
  resetParameters(generator?: Generator): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5), generator });
    if (this.bias) initBiasFromWeight(this.bias, this.weight, generator);
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null ? 'True' : 'False'}`;
  }
}
