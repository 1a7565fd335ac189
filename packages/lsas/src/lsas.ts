/**
 * LSAS: Lightweight Sub-attention Strategy (Zhong, Wen, Qin, Chen, Huang, ICME 2023, arXiv
 * 2305.05200), figure 3 and the official `cifar/lsas_senet.py`.
 *
 * A channel-attention module computes a pre-sigmoid logit v [N, C] and gates x by sigmoid(v). LSAS
 * adds a chain of n per-channel affine sub-attentions on that logit,
 *
 *   v_0 = v,   v_k = w_k * v_{k-1} + b_k              (k = 1..n, w_k, b_k in R^C)
 *   g   = sigmoid(v_0) * prod_{k=1..n} sigmoid(v_k)
 *   y   = x * g                                        (g broadcast over H, W)
 *
 * with w_k = 0.5, b_k = -0.5 at construction as the official code fills them. The order n is a
 * hyper-parameter (the figure's "selection gate"); n = 0 is the plain module. Each extra order
 * multiplies the gate by a factor in (0, 1), so the gate shrinks with n.
 */
import { mul, nn, OpError, reshape, sigmoid, full, type Tensor } from '@methodzoo/core';

export interface LSASOptions extends nn.FactoryOptions {
  /** C, the width of the logits. */
  channels: number;
  /** n, the number of sub-attentions (1); 0 gives the plain sigmoid gate. */
  order?: number;
  /** Initial value of every w_k (0.5, as the official code). */
  initW?: number;
  /** Initial value of every b_k (-0.5, as the official code). */
  initB?: number;
}

/**
 * The sub-attention chain on attention logits: `call(v)` maps v [N, C] to the gate [N, C] in (0, 1).
 *
 * Parameters (state-dict keys): `w1`, `b1`, ..., `wn`, `bn`, each [C]; 2 C n in all.
 */
export class LSAS extends nn.Module {
  readonly channels: number;
  readonly order: number;

  constructor(opts: LSASOptions) {
    super();
    const { channels } = opts;
    const order = opts.order ?? 1;
    if (!Number.isInteger(channels) || channels <= 0) throw new OpError('LSAS', `channels must be a positive integer, got ${channels}`);
    if (!Number.isInteger(order) || order < 0) throw new OpError('LSAS', `order must be a non-negative integer, got ${order}`);
    this.channels = channels;
    this.order = order;
    const f = { dtype: opts.dtype ?? 'float32', backend: opts.backend } as const;
    for (let k = 1; k <= order; k++) {
      this.registerParameter(`w${k}`, new nn.Parameter(full([channels], opts.initW ?? 0.5, f)));
      this.registerParameter(`b${k}`, new nn.Parameter(full([channels], opts.initB ?? -0.5, f)));
    }
  }

  /** w_k (1-based), shape [C]. */
  weight(k: number): nn.Parameter {
    return this.subParam('w', k);
  }

  /** b_k (1-based), shape [C]. */
  bias(k: number): nn.Parameter {
    return this.subParam('b', k);
  }

  private subParam(kind: 'w' | 'b', k: number): nn.Parameter {
    if (!Number.isInteger(k) || k < 1 || k > this.order) throw new OpError('LSAS', `sub-attention index must be in 1..${this.order}, got ${k}`);
    return (this as unknown as Record<string, nn.Parameter>)[`${kind}${k}`]!;
  }

  /** The gate sigmoid(v) * prod_k sigmoid(v_k) for logits v [N, C]. */
  forward(v: Tensor): Tensor {
    if (v.ndim !== 2 || v.shape[1] !== this.channels) throw new OpError('LSAS', `expected logits [N, ${this.channels}], got [${v.shape.join(', ')}]`);
    let g = sigmoid(v);
    let s = v;
    for (let k = 1; k <= this.order; k++) {
      s = s.mul(this.weight(k)).add(this.bias(k));
      g = g.mul(sigmoid(s));
    }
    return g;
  }

  override extraRepr(): string {
    return `channels=${this.channels}, order=${this.order}`;
  }
}

/** A channel-attention module that exposes its pre-sigmoid logits (SE, ECA, SRM-style). */
export interface ChannelAttention extends nn.Module {
  readonly channels: number;
  /** Pre-sigmoid logits [N, C] of x [N, C, H, W]. */
  logits(x: Tensor): Tensor;
}

/** Called with the gate [N, C] of every forward of a gated attention module (see watchGates). */
export type GateListener = (gate: Tensor) => void;

/**
 * `y = x * gate(x)` for a channel-attention module and an LSAS chain on its logits. With order 0 it is
 * exactly the base module's sigmoid gate. Children (state-dict order): `base`, `lsas`.
 *
 * Shape: x [N, C, H, W] -> [N, C, H, W].
 */
export class LSASAttention extends nn.Module {
  readonly channels: number;
  base: ChannelAttention;
  lsas: LSAS;
  readonly #listeners = new Set<GateListener>();

  constructor(base: ChannelAttention, opts: Omit<LSASOptions, 'channels'> = {}) {
    super();
    if (typeof base.logits !== 'function') throw new OpError('withLSAS', 'attention module must expose logits(x) (its pre-sigmoid output)');
    this.channels = base.channels;
    this.base = base;
    this.lsas = new LSAS({ ...opts, channels: base.channels });
  }

  get order(): number {
    return this.lsas.order;
  }

  /** The gate [N, C] in (0, 1) for x [N, C, H, W]. */
  gate(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.channels) throw new OpError('LSASAttention', `expected input [N, ${this.channels}, H, W], got [${x.shape.join(', ')}]`);
    return this.lsas.call(this.base.logits(x));
  }

  /** Registers a listener that sees the gate of every forward; returns a removable handle. */
  addGateListener(fn: GateListener): { remove(): void } {
    this.#listeners.add(fn);
    return { remove: () => void this.#listeners.delete(fn) };
  }

  forward(x: Tensor): Tensor {
    const g = this.gate(x);
    for (const fn of this.#listeners) fn(g);
    return mul(x, reshape(g, [x.shape[0]!, this.channels, 1, 1]));
  }

  override extraRepr(): string {
    return `channels=${this.channels}, order=${this.order}`;
  }
}

/** Wraps a channel-attention module exposing `logits(x)` with an LSAS chain of the given order. */
export function withLSAS(attention: ChannelAttention, opts: Omit<LSASOptions, 'channels'> = {}): LSASAttention {
  return new LSASAttention(attention, opts);
}
