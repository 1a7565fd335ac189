/** Dropout (PyTorch `torch/nn/modules/dropout.py`). */
import { dropout } from '../ops/nn.js';
import { defaultGenerator, type Generator } from '../random.js';
import { OpError } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';

/**
 * During training, zeroes each element with probability `p` (drawn from `generator`) and scales the
 * survivors by 1 / (1 - p); in eval mode it is the identity (Srivastava et al., 2014).
 *
 * Args:
 *   p: probability of an element to be zeroed (0.5).
 *   opts.generator: the random source for the masks (the default generator when omitted).
 *
 * Shape:
 *   input [*] -> output of the same shape.
 *
 * Example:
 * ```ts
 * const drop = new Dropout(0.2, { generator: new Generator(0) });
 * drop.call(randn([20, 16]));     // training: ~20% zeros, rest scaled by 1.25
 * drop.eval().call(x) === x;     // eval: identity
 * ```
 */
export class Dropout extends Module {
  readonly p: number;
  generator: Generator;

  constructor(p = 0.5, opts: { generator?: Generator } = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new OpError('Dropout', `dropout probability has to be between 0 and 1, but got ${p}`);
    this.p = p;
    this.generator = opts.generator ?? defaultGenerator;
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, { training: this.training, generator: this.generator });
  }

  override extraRepr(): string {
    return `p=${this.p}, inplace=False`;
  }
}
