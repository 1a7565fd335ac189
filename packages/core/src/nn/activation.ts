/**
 * Parameter-free activation and reshaping layers (PyTorch `torch/nn/modules/activation.py` and
 * `flatten.py`). Each maps input [*] to output [*] elementwise unless stated.
 */
import { relu, sigmoid, tanh } from '../ops/basic.js';
import { flatten, gelu, leakyRelu, silu, softmax, softplus } from '../ops/composite.js';
import { OpError } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';

/**
 * max(0, x).
 *
 * Example: `new ReLU().call(tensor([-1, 2])).tolist(); // [0, 2]`
 */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/**
 * max(0, x) + negativeSlope * min(0, x).
 *
 * Args: negativeSlope (0.01).
 *
 * Example: `new LeakyReLU(0.2).call(tensor([-1, 2])).tolist(); // [-0.2, 2]`
 */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.negativeSlope);
  }
  override extraRepr(): string {
    return `negative_slope=${this.negativeSlope}`;
  }
}

/**
 * x * Phi(x), with Phi the standard normal CDF; `approximate: 'tanh'` uses
 * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
 *
 * Args: approximate ('none' or 'tanh', default 'none').
 *
 * Example: `new GELU({ approximate: 'tanh' }).call(x)`
 */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';
  constructor(opts: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    const a = opts.approximate ?? 'none';
    if (a !== 'none' && a !== 'tanh') throw new OpError('GELU', `approximate must be 'none' or 'tanh', got '${String(a)}'`);
    this.approximate = a;
  }
  forward(x: Tensor): Tensor {
    return gelu(x, this.approximate);
  }
  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/**
 * x * sigmoid(x) (also called Swish).
 *
 * Example: `new SiLU().call(x)`
 */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return silu(x);
  }
}

/** 1 / (1 + exp(-x)). Example: `new Sigmoid().call(x)` */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

/** tanh(x). Example: `new Tanh().call(x)` */
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/**
 * exp(x_i) / sum_j exp(x_j) along `dim`.
 *
 * Args: dim (required: PyTorch's implicit choice of dim is deprecated).
 *
 * Shape: input [*] -> output of the same shape, summing to 1 along `dim`.
 *
 * Example: `new Softmax(-1).call(randn([2, 5]))`
 */
export class Softmax extends Module {
  constructor(readonly dim: number) {
    super();
    if (!Number.isInteger(dim)) throw new OpError('Softmax', `dim must be an integer, got ${dim}`);
  }
  forward(x: Tensor): Tensor {
    return softmax(x, this.dim);
  }
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/**
 * log(1 + exp(beta x)) / beta, reverting to x where beta x > threshold.
 *
 * Args: beta (1), threshold (20).
 *
 * Example: `new Softplus({ beta: 2 }).call(x)`
 */
export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;
  constructor(opts: { beta?: number; threshold?: number } = {}) {
    super();
    this.beta = opts.beta ?? 1;
    this.threshold = opts.threshold ?? 20;
  }
  forward(x: Tensor): Tensor {
    return softplus(x, this.beta, this.threshold);
  }
  override extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

/**
 * Flattens dims startDim..endDim into one.
 *
 * Args: startDim (1, keeping the batch dim), endDim (-1).
 *
 * Shape: input [N, *dims] -> output [N, prod(dims)] with the defaults.
 *
 * Example: `new Flatten().call(randn([32, 1, 5, 5])).shape; // [32, 25]`
 */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}
