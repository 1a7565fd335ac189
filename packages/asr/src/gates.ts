/**
 * Channel-attention gates for ASR (Huang, Zhong et al., "Stripe Observation Guided Inference
 * Cost-Free Attention Mechanism", ECCV 2024, arXiv 2304.06345, section 3: the attention module
 * T_theta whose output v = T_theta(psi) scales a BN output).
 *
 * The gate contract: a module whose `forward(x)` maps x [N, C, H, W] to a gate [N, C, 1, 1] that
 * depends on x only through its per-channel spatial average (channel attention). ASR feeds it the
 * learned constant psi [1, C, 1, 1], so any module that accepts a 1x1 spatial input fits: SE, ECA,
 * SRM's mean branch, IE. Spatial attention (CBAM's spatial branch) does not, since psi has no
 * spatial extent. The same module also works as an input-dependent gate (`x * gate(x)`), which is
 * how `stripeStats` reads the stripe observation.
 */
import { mean, nn, OpError, reshape, type Tensor } from '@methodzoo/core';

/** Builds a gate for `channels` channels (see the contract above). */
export type GateFactory = (channels: number, opts: nn.FactoryOptions) => nn.Module;

function checkGateInput(op: string, x: Tensor, channels: number): void {
  if (x.ndim !== 4 || x.shape[1] !== channels) throw new OpError(op, `expected input [N, ${channels}, H, W], got [${x.shape.join(', ')}]`);
}

export interface SEGateOptions extends nn.FactoryOptions {
  /** r (16, as the official ASR code). The hidden width is max(1, round(C / r)). */
  reduction?: number;
}

/**
 * Squeeze-and-Excitation gate (Hu et al. 2018, eqs. 2-3): sigmoid(W2 relu(W1 GAP(x) + b1) + b2).
 * Hidden width round(C / r) as the official ASR `senet.py` (SEBlock in @methodzoo/models floors).
 * Children `fc1`, `fc2` (with biases).
 *
 * Shape: x [N, C, H, W] -> gate [N, C, 1, 1].
 */
export class SEGate extends nn.Module {
  readonly channels: number;
  readonly hidden: number;
  fc1: nn.Linear;
  fc2: nn.Linear;

  constructor(channels: number, opts: SEGateOptions = {}) {
    super();
    const r = opts.reduction ?? 16;
    if (!Number.isInteger(channels) || channels <= 0) throw new OpError('SEGate', `channels must be a positive integer, got ${channels}`);
    if (!(r > 0)) throw new OpError('SEGate', `reduction must be positive, got ${r}`);
    this.channels = channels;
    this.hidden = Math.max(1, Math.round(channels / r));
    const lin = { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };
    this.fc1 = new nn.Linear(channels, this.hidden, lin);
    this.fc2 = new nn.Linear(this.hidden, channels, lin);
  }

  forward(x: Tensor): Tensor {
    checkGateInput('SEGate', x, this.channels);
    const s = this.fc2.call(this.fc1.call(mean(x, [2, 3])).relu()).sigmoid();
    return reshape(s, [x.shape[0]!, this.channels, 1, 1]);
  }

  override extraRepr(): string {
    return `channels=${this.channels}, hidden=${this.hidden}`;
  }
}

export interface ECAGateOptions extends nn.FactoryOptions {
  /** Odd kernel size of the 1-D conv across channels; default adaptive: k = |log2(C) / 2 + 1 / 2| made odd. */
  kernelSize?: number;
}

/** ECA-Net's adaptive kernel size (Wang et al., CVPR 2020, eq. 12 with gamma = 2, b = 1). */
export function ecaKernelSize(channels: number): number {
  const t = Math.floor(Math.abs(Math.log2(channels) / 2 + 0.5));
  return t % 2 === 1 ? t : t + 1;
}

/**
 * Efficient Channel Attention gate (Wang et al., "ECA-Net", CVPR 2020, section 3.3):
 * sigmoid(conv1d_k(GAP(x))) over the channel axis, no bias, zero padding (k - 1) / 2. Child `conv`
 * (a Conv1d(1, 1, k)); k parameters in all.
 *
 * Shape: x [N, C, H, W] -> gate [N, C, 1, 1].
 */
export class ECAGate extends nn.Module {
  readonly channels: number;
  readonly kernelSize: number;
  conv: nn.Conv1d;

  constructor(channels: number, opts: ECAGateOptions = {}) {
    super();
    if (!Number.isInteger(channels) || channels <= 0) throw new OpError('ECAGate', `channels must be a positive integer, got ${channels}`);
    const k = opts.kernelSize ?? ecaKernelSize(channels);
    if (!Number.isInteger(k) || k < 1 || k % 2 === 0) throw new OpError('ECAGate', `kernelSize must be an odd positive integer, got ${k}`);
    this.channels = channels;
    this.kernelSize = k;
    this.conv = new nn.Conv1d(1, 1, k, { padding: (k - 1) / 2, bias: false, dtype: opts.dtype, backend: opts.backend, generator: opts.generator });
  }

  forward(x: Tensor): Tensor {
    checkGateInput('ECAGate', x, this.channels);
    const n = x.shape[0]!;
    const z = reshape(mean(x, [2, 3]), [n, 1, this.channels]);
    return reshape(this.conv.call(z).sigmoid(), [n, this.channels, 1, 1]);
  }

  override extraRepr(): string {
    return `channels=${this.channels}, kernel_size=${this.kernelSize}`;
  }
}

/** The shipped gates by name. */
export const GATES: Readonly<Record<'se' | 'eca', GateFactory>> = {
  se: (c, opts) => new SEGate(c, opts),
  eca: (c, opts) => new ECAGate(c, opts),
};

/** A gate factory from a name of GATES or a factory. */
export function resolveGate(attention: 'se' | 'eca' | GateFactory | undefined): GateFactory {
  if (attention === undefined) return GATES.se;
  if (typeof attention === 'function') return attention;
  const f = GATES[attention];
  if (!f) throw new OpError('ASRNorm', `attention must be 'se', 'eca' or a gate factory, got ${JSON.stringify(attention)}`);
  return f;
}
