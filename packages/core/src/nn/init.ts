/**
 * Parameter initialisation, as `torch.nn.init`. Each function fills its tensor in place (with
 * `assign`, so the tensor keeps its identity), records nothing for autograd, returns the tensor, and
 * takes an optional `Generator` so initialisation replays exactly.
 */
import { full, normal, tensor, uniform } from '../creation.js';
import { defaultGenerator, type Generator } from '../random.js';
import { fmtShape, OpError } from '../shape.js';
import { noGrad, type Tensor } from '../tensor.js';

export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

export interface GeneratorOption {
  generator?: Generator;
}

/**
 * The recommended gain for a nonlinearity (PyTorch `calculate_gain`): 1 for linear/conv/sigmoid,
 * 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu (slope `param`, 0.01 by
 * default), 3/4 for selu.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d':
    case 'conv_transpose1d': case 'conv_transpose2d': case 'conv_transpose3d': case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      if (!Number.isFinite(slope)) throw new OpError('calculateGain', `negative slope ${param} is not a valid number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new OpError('calculateGain', `unsupported nonlinearity '${String(nonlinearity)}'`);
  }
}

/**
 * fan_in = size(1) * receptive field, fan_out = size(0) * receptive field, where the receptive
 * field is the product of dims 2.. (PyTorch `_calculate_fan_in_and_fan_out`). Needs >= 2 dims.
 */
export function calculateFanInAndFanOut(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) throw new OpError('calculateFanInAndFanOut', `fan in and fan out can not be computed for a tensor with fewer than 2 dimensions, got shape ${fmtShape(t.shape)}`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1]! * receptive, fanOut: t.shape[0]! * receptive };
}

function fill(t: Tensor, make: () => Tensor): Tensor {
  noGrad(() => {
    const v = make();
    t.assign(v);
    v.dispose();
  });
  return t;
}

const on = (t: Tensor, g?: Generator) => ({ dtype: t.dtype, backend: t.backend, generator: g ?? defaultGenerator });

/** Fills with U(a, b). */
export function uniform_(t: Tensor, a = 0, b = 1, opts: GeneratorOption = {}): Tensor {
  if (!(a <= b)) throw new OpError('uniform_', `need a <= b, got a=${a}, b=${b}`);
  return fill(t, () => uniform(t.shape, a, b, on(t, opts.generator)));
}

/** Fills with N(mean, std^2). */
export function normal_(t: Tensor, mean = 0, std = 1, opts: GeneratorOption = {}): Tensor {
  if (!(std >= 0)) throw new OpError('normal_', `std must be non-negative, got ${std}`);
  return fill(t, () => normal(t.shape, mean, std, on(t, opts.generator)));
}

/**
 * Fills with N(mean, std^2) truncated to [a, b] (values redrawn until they fall inside), as
 * PyTorch `trunc_normal_` in distribution.
 */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2, opts: GeneratorOption = {}): Tensor {
  if (!(std > 0) || !(a < b)) throw new OpError('truncNormal_', `need std > 0 and a < b, got std=${std}, a=${a}, b=${b}`);
  const g = opts.generator ?? defaultGenerator;
  const data = new Float64Array(t.size);
  for (let i = 0; i < data.length; i++) {
    let v = mean + std * g.normal();
    // Rejection suits the usual windows (±2 std accepts 95%); a window that almost never hits is an error.
    for (let tries = 1; v < a || v > b; tries++) {
      if (tries === 10_000) throw new OpError('truncNormal_', `[a, b] = [${a}, ${b}] has almost no mass under N(${mean}, ${std}^2)`);
      v = mean + std * g.normal();
    }
    data[i] = v;
  }
  return fill(t, () => tensor(data, { dtype: t.dtype, shape: t.shape, backend: t.backend }));
}

export function constant_(t: Tensor, value: number): Tensor {
  return fill(t, () => full(t.shape, value, { dtype: t.dtype, backend: t.backend }));
}
export const zeros_ = (t: Tensor): Tensor => constant_(t, 0);
export const ones_ = (t: Tensor): Tensor => constant_(t, 1);

export interface XavierOptions extends GeneratorOption {
  gain?: number;
}

/** Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, opts: XavierOptions = {}): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const std = (opts.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut));
  const a = Math.sqrt(3) * std;
  return uniform_(t, -a, a, opts);
}

/** Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)). */
export function xavierNormal_(t: Tensor, opts: XavierOptions = {}): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  return normal_(t, 0, (opts.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)), opts);
}

export interface KaimingOptions extends GeneratorOption {
  /** Negative slope of the rectifier after this layer (only for leaky_relu); 0 by default. */
  a?: number;
  mode?: 'fan_in' | 'fan_out';
  nonlinearity?: Nonlinearity;
}

function kaimingStd(op: string, t: Tensor, opts: KaimingOptions): number {
  const mode = opts.mode ?? 'fan_in';
  if (mode !== 'fan_in' && mode !== 'fan_out') throw new OpError(op, `mode must be 'fan_in' or 'fan_out', got '${String(mode)}'`);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const fan = mode === 'fan_in' ? fanIn : fanOut;
  if (fan === 0) throw new OpError(op, `cannot initialise a tensor with a zero ${mode}, shape ${fmtShape(t.shape)}`);
  return calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0) / Math.sqrt(fan);
}

/** He uniform: U(-bound, bound) with bound = gain * sqrt(3 / fan). */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  if (t.size === 0) return t; // PyTorch: initialising a zero-element tensor is a no-op
  const bound = Math.sqrt(3) * kaimingStd('kaimingUniform_', t, opts);
  return uniform_(t, -bound, bound, opts);
}

/** He normal: N(0, std^2) with std = gain / sqrt(fan). */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  if (t.size === 0) return t;
  return normal_(t, 0, kaimingStd('kaimingNormal_', t, opts), opts);
}
