/** Convolution layers (PyTorch `torch/nn/modules/conv.py`). */
import { pad } from '../ops/basic.js';
import { conv2d, convTranspose2d, type Pair } from '../ops/nn.js';
import { reshape } from '../ops/basic.js';
import { unsqueeze } from '../ops/composite.js';
import type { Generator } from '../random.js';
import { fmtShape, OpError } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { kaimingUniform_ } from './init.js';
import { initBiasFromWeight } from './linear.js';
import { emptyParameter, type FactoryOptions, Module, type Parameter } from './module.js';

const pairOf = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

function positiveInts(op: string, arg: string, v: readonly number[], min = 1): void {
  if (!v.every((x) => Number.isInteger(x) && x >= min)) throw new OpError(op, `${arg} must be integers >= ${min}, got ${JSON.stringify(v)}`);
}

function checkChannels(op: string, inChannels: number, outChannels: number, groups: number): void {
  positiveInts(op, 'inChannels/outChannels', [inChannels, outChannels], 0);
  if (!Number.isInteger(groups) || groups < 1) throw new OpError(op, `groups must be a positive integer, got ${groups}`);
  if (inChannels % groups !== 0) throw new OpError(op, `inChannels ${inChannels} must be divisible by groups ${groups}`);
  if (outChannels % groups !== 0) throw new OpError(op, `outChannels ${outChannels} must be divisible by groups ${groups}`);
}

export interface ConvOptions<P> extends FactoryOptions {
  stride?: P;
  /** Zero padding on each side, or 'valid' (none) or 'same' (output size = input size; needs stride 1). */
  padding?: P | 'same' | 'valid';
  dilation?: P;
  groups?: number;
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * The explicit padding of a convolution: symmetric `[top, left]` plus, for 'same' with an even
 * effective kernel, one extra row/column at the bottom/right (where PyTorch puts it).
 */
function resolvePadding(op: string, padding: Pair | 'same' | 'valid', kernel: [number, number], dilation: [number, number], stride: [number, number]) {
  if (padding === 'valid') return { sym: [0, 0] as [number, number], extra: [0, 0] as [number, number] };
  if (padding === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) throw new OpError(op, "padding='same' is not supported for strided convolutions");
    const total = [dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)];
    const sym: [number, number] = [Math.floor(total[0]! / 2), Math.floor(total[1]! / 2)];
    return { sym, extra: [total[0]! - 2 * sym[0], total[1]! - 2 * sym[1]] as [number, number] };
  }
  const sym = pairOf(padding);
  positiveInts(op, 'padding', sym, 0);
  return { sym, extra: [0, 0] as [number, number] };
}

/** Shared body of Conv1d and Conv2d: everything is a 2-D convolution (1-D adds a unit height). */
abstract class ConvNd extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly groups: number;
  weight: Parameter;
  bias: Parameter | null;
  /** @internal 2-D geometry */ protected readonly geo: { kernel: [number, number]; stride: [number, number]; dilation: [number, number]; sym: [number, number]; extra: [number, number] };

  constructor(op: string, inChannels: number, outChannels: number, kernel: [number, number], weightShape: number[], opts: ConvOptions<Pair>) {
    super();
    const groups = opts.groups ?? 1;
    checkChannels(op, inChannels, outChannels, groups);
    positiveInts(op, 'kernelSize', kernel);
    const stride = pairOf(opts.stride ?? 1);
    const dilation = pairOf(opts.dilation ?? 1);
    positiveInts(op, 'stride', stride);
    positiveInts(op, 'dilation', dilation);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.groups = groups;
    this.geo = { kernel, stride, dilation, ...resolvePadding(op, opts.padding ?? 0, kernel, dilation, stride) };
    this.weight = emptyParameter(weightShape, opts);
    this.bias = opts.bias === false ? null : emptyParameter([outChannels], opts);
    this.resetParameters(opts.generator);
  }

  /** PyTorch's `reset_parameters`: kaiming_uniform(a = sqrt(5)) weight, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) bias. */
  resetParameters(generator?: Generator): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5), generator });
    if (this.bias) initBiasFromWeight(this.bias, this.weight, generator);
  }

  /** @internal x [N, C, H, W], weight [O, C/g, kh, kw] */
  protected conv(x: Tensor, weight: Tensor): Tensor {
    const g = this.geo;
    const input = g.extra[0] || g.extra[1] ? pad(x, [0, g.extra[1], 0, g.extra[0]]) : x;
    return conv2d(input, weight, this.bias, { stride: g.stride, padding: g.sym, dilation: g.dilation, groups: this.groups });
  }
}

/**
 * 1-D convolution over an input of several planes.
 *
 * Args:
 *   inChannels, outChannels: channels in the input and produced by the convolution.
 *   kernelSize: size of the kernel.
 *   opts.stride (1), opts.padding (0, 'valid' or 'same'), opts.dilation (1), opts.groups (1), opts.bias (true).
 *
 * Shape:
 *   input [N, inChannels, L] -> output [N, outChannels, floor((L + 2p - d(k-1) - 1) / s) + 1].
 *
 * Parameters: `weight` [outChannels, inChannels/groups, kernelSize], `bias` [outChannels].
 *
 * Example:
 * ```ts
 * new Conv1d(16, 33, 3, { stride: 2 }).call(randn([20, 16, 50])).shape; // [20, 33, 24]
 * ```
 */
export class Conv1d extends ConvNd {
  readonly kernelSize: number;
  constructor(inChannels: number, outChannels: number, kernelSize: number, opts: ConvOptions<number> = {}) {
    const padding = opts.padding ?? 0;
    super('Conv1d', inChannels, outChannels, [1, kernelSize], [outChannels, inChannels / (opts.groups ?? 1), kernelSize], {
      ...opts,
      stride: [1, opts.stride ?? 1],
      padding: typeof padding === 'number' ? [0, padding] : padding,
      dilation: [1, opts.dilation ?? 1],
    });
    this.kernelSize = kernelSize;
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 3) throw new OpError('Conv1d', `expected input [N, C, L], got ${fmtShape(x.shape)}`);
    const y = this.conv(unsqueeze(x, 2), unsqueeze(this.weight, 2));
    return reshape(y, [y.shape[0]!, y.shape[1]!, y.shape[3]!]);
  }

  override extraRepr(): string {
    const g = this.geo;
    return `${this.inChannels}, ${this.outChannels}, kernel_size=(${this.kernelSize},), stride=(${g.stride[1]},), padding=(${g.sym[1]},)${g.dilation[1] !== 1 ? `, dilation=(${g.dilation[1]},)` : ''}${this.groups !== 1 ? `, groups=${this.groups}` : ''}${this.bias ? '' : ', bias=False'}`;
  }
}

/**
 * 2-D convolution over an input of several planes.
 *
 * Args:
 *   inChannels, outChannels: channels in the input and produced by the convolution.
 *   kernelSize: a number or [kh, kw].
 *   opts.stride (1), opts.padding (0, [ph, pw], 'valid' or 'same'), opts.dilation (1), opts.groups (1), opts.bias (true).
 *
 * Shape:
 *   input [N, inChannels, H, W] -> output [N, outChannels, H', W'] with
 *   H' = floor((H + 2 ph - dh (kh - 1) - 1) / sh) + 1, and W' likewise.
 *
 * Parameters: `weight` [outChannels, inChannels/groups, kh, kw], `bias` [outChannels].
 *
 * Example:
 * ```ts
 * const conv = new Conv2d(3, 16, 3, { padding: 1 });
 * conv.call(randn([8, 3, 32, 32])).shape; // [8, 16, 32, 32]
 * conv.numParameters(); // 448
 * ```
 */
export class Conv2d extends ConvNd {
  readonly kernelSize: [number, number];
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: ConvOptions<Pair> = {}) {
    const k = pairOf(kernelSize);
    super('Conv2d', inChannels, outChannels, k, [outChannels, inChannels / (opts.groups ?? 1), k[0], k[1]], opts);
    this.kernelSize = k;
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new OpError('Conv2d', `expected input [N, C, H, W], got ${fmtShape(x.shape)}`);
    return this.conv(x, this.weight);
  }

  override extraRepr(): string {
    const g = this.geo;
    return `${this.inChannels}, ${this.outChannels}, kernel_size=(${this.kernelSize.join(', ')}), stride=(${g.stride.join(', ')})${g.sym[0] || g.sym[1] ? `, padding=(${g.sym.join(', ')})` : ''}${g.dilation[0] !== 1 || g.dilation[1] !== 1 ? `, dilation=(${g.dilation.join(', ')})` : ''}${this.groups !== 1 ? `, groups=${this.groups}` : ''}${this.bias ? '' : ', bias=False'}`;
  }
}

export interface ConvTranspose2dOptions extends FactoryOptions {
  stride?: Pair;
  /** Implicit zero padding removed from both sides of the output: dilation * (kernel - 1) - padding. */
  padding?: Pair;
  /** Extra size added to one side of the output (smaller than stride or dilation). */
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/**
 * 2-D transposed convolution (the gradient of Conv2d with respect to its input), used to upsample.
 *
 * Args:
 *   inChannels, outChannels, kernelSize, and opts.stride (1), opts.padding (0), opts.outputPadding (0),
 *   opts.dilation (1), opts.groups (1), opts.bias (true).
 *
 * Shape:
 *   input [N, inChannels, H, W] -> output [N, outChannels, H', W'] with
 *   H' = (H - 1) sh - 2 ph + dh (kh - 1) + oph + 1.
 *   `forward(x, outputSize)` picks the output padding that yields `outputSize` ([H', W'] or a full shape).
 *
 * Parameters: `weight` [inChannels, outChannels/groups, kh, kw] (note: in before out, as PyTorch),
 * `bias` [outChannels]; fan_in for the initialisation is taken from dim 1 as PyTorch does.
 *
 * Example:
 * ```ts
 * const up = new ConvTranspose2d(16, 8, 2, { stride: 2 });
 * up.call(randn([1, 16, 12, 12])).shape; // [1, 8, 24, 24]
 * ```
 */
export class ConvTranspose2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: ConvTranspose2dOptions = {}) {
    super();
    const groups = opts.groups ?? 1;
    checkChannels('ConvTranspose2d', inChannels, outChannels, groups);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.groups = groups;
    this.kernelSize = pairOf(kernelSize);
    this.stride = pairOf(opts.stride ?? 1);
    this.padding = pairOf(opts.padding ?? 0);
    this.outputPadding = pairOf(opts.outputPadding ?? 0);
    this.dilation = pairOf(opts.dilation ?? 1);
    positiveInts('ConvTranspose2d', 'kernelSize', this.kernelSize);
    positiveInts('ConvTranspose2d', 'stride', this.stride);
    positiveInts('ConvTranspose2d', 'dilation', this.dilation);
    positiveInts('ConvTranspose2d', 'padding', this.padding, 0);
    positiveInts('ConvTranspose2d', 'outputPadding', this.outputPadding, 0);
    this.weight = emptyParameter([inChannels, outChannels / groups, ...this.kernelSize], opts);
    this.bias = opts.bias === false ? null : emptyParameter([outChannels], opts);
    this.resetParameters(opts.generator);
  }

  resetParameters(generator?: Generator): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5), generator });
    if (this.bias) initBiasFromWeight(this.bias, this.weight, generator);
  }

  /** The output padding that makes the output `outputSize` (PyTorch `_output_padding`). */
  private outputPaddingFor(x: Tensor, outputSize: readonly number[]): [number, number] {
    const size = outputSize.slice(-2);
    if (size.length !== 2 || (outputSize.length !== 2 && outputSize.length !== 4)) {
      throw new OpError('ConvTranspose2d', `outputSize must be [H, W] or [N, C, H, W], got ${fmtShape(outputSize)}`);
    }
    return [0, 1].map((i) => {
      const min = (x.shape[2 + i]! - 1) * this.stride[i]! - 2 * this.padding[i]! + this.dilation[i]! * (this.kernelSize[i]! - 1) + 1;
      const max = min + this.stride[i]! - 1;
      if (size[i]! < min || size[i]! > max) {
        throw new OpError('ConvTranspose2d', `requested output size ${fmtShape(size)} is not reachable: dim ${i} must be in [${min}, ${max}] for input ${fmtShape(x.shape)}`);
      }
      return size[i]! - min;
    }) as [number, number];
  }

  forward(x: Tensor, outputSize?: readonly number[]): Tensor {
    if (x.ndim !== 4) throw new OpError('ConvTranspose2d', `expected input [N, C, H, W], got ${fmtShape(x.shape)}`);
    return convTranspose2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      outputPadding: outputSize ? this.outputPaddingFor(x, outputSize) : this.outputPadding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernel_size=(${this.kernelSize.join(', ')}), stride=(${this.stride.join(', ')})${this.padding[0] || this.padding[1] ? `, padding=(${this.padding.join(', ')})` : ''}${this.outputPadding[0] || this.outputPadding[1] ? `, output_padding=(${this.outputPadding.join(', ')})` : ''}${this.groups !== 1 ? `, groups=${this.groups}` : ''}${this.bias ? '' : ', bias=False'}`;
  }
}
