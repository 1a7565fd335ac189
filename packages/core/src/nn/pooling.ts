/** Pooling layers (PyTorch `torch/nn/modules/pooling.py`). */
import { adaptiveAvgPool2d, avgPool2d, maxPool2d, type Pair } from '../ops/nn.js';
import { fmtShape, OpError } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';

const fmtPair = (p: Pair) => (typeof p === 'number' ? String(p) : `(${p.join(', ')})`);

export interface MaxPool2dOptions {
  /** Window step (the kernel size by default). */
  stride?: Pair;
  /** Implicit -inf padding on both sides (at most half the kernel). */
  padding?: Pair;
  dilation?: Pair;
}

/**
 * Maximum over kH x kW windows of each channel.
 *
 * Args:
 *   kernelSize: window size; opts.stride (kernelSize), opts.padding (0), opts.dilation (1).
 *
 * Shape:
 *   input [N, C, H, W] -> output [N, C, H', W'], H' = floor((H + 2p - d(k-1) - 1) / s) + 1.
 *
 * Example: `new MaxPool2d(2).call(randn([1, 3, 8, 8])).shape; // [1, 3, 4, 4]`
 */
export class MaxPool2d extends Module {
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  constructor(kernelSize: Pair, opts: MaxPool2dOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding, dilation: this.dilation });
  }
  override extraRepr(): string {
    return `kernel_size=${fmtPair(this.kernelSize)}, stride=${fmtPair(this.stride)}, padding=${fmtPair(this.padding)}, dilation=${fmtPair(this.dilation)}, ceil_mode=False`;
  }
}

export interface AvgPool2dOptions {
  stride?: Pair;
  /** Implicit zero padding on both sides (at most half the kernel). */
  padding?: Pair;
  /** Count the zero padding in the divisor (true, as PyTorch). */
  countIncludePad?: boolean;
}

/**
 * Mean over kH x kW windows of each channel.
 *
 * Args:
 *   kernelSize: window size; opts.stride (kernelSize), opts.padding (0), opts.countIncludePad (true).
 *
 * Shape:
 *   input [N, C, H, W] -> output [N, C, H', W'], H' = floor((H + 2p - k) / s) + 1.
 *
 * Example: `new AvgPool2d(2).call(randn([1, 3, 8, 8])).shape; // [1, 3, 4, 4]`
 */
export class AvgPool2d extends Module {
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly countIncludePad: boolean;
  constructor(kernelSize: Pair, opts: AvgPool2dOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? 0;
    this.countIncludePad = opts.countIncludePad ?? true;
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding, countIncludePad: this.countIncludePad });
  }
  override extraRepr(): string {
    return `kernel_size=${fmtPair(this.kernelSize)}, stride=${fmtPair(this.stride)}, padding=${fmtPair(this.padding)}`;
  }
}

/**
 * Average pooling to a fixed output size; bin i of H covers rows [floor(i H / oh), ceil((i+1) H / oh)).
 *
 * Args:
 *   outputSize: oh, or [oh, ow], where null keeps that input dim (PyTorch's None).
 *
 * Shape:
 *   input [N, C, H, W] -> output [N, C, oh, ow].
 *
 * Example: `new AdaptiveAvgPool2d(1).call(randn([2, 64, 7, 7])).shape; // [2, 64, 1, 1]`
 */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: number | readonly [number | null, number | null];
  constructor(outputSize: number | readonly [number | null, number | null]) {
    super();
    this.outputSize = outputSize;
  }
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new OpError('AdaptiveAvgPool2d', `expected input [N, C, H, W], got ${fmtShape(x.shape)}`);
    const o = this.outputSize;
    const size: [number, number] = typeof o === 'number' ? [o, o] : [o[0] ?? x.shape[2]!, o[1] ?? x.shape[3]!];
    return adaptiveAvgPool2d(x, size);
  }
  override extraRepr(): string {
    const o = this.outputSize;
    return `output_size=${typeof o === 'number' ? o : `(${o.map((v) => v ?? 'None').join(', ')})`}`;
  }
}
