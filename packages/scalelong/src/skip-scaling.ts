/**
 * ScaleLong (Huang, Zhou, Yan, Lin, NeurIPS 2023, arXiv 2310.13545): scale each long skip
 * connection (LSC) of a UNet before the decoder fuses it. With encoder blocks a_i, decoder blocks b_i
 * and LSC i from a_i to b_i (i = 1 the outermost, shallowest skip):
 *
 *   f_{i-1}(x) = b_i( kappa_i a_i(x)  (+)  f_i(a_i(x)) )        (sec. 3, the UNet recursion)
 *
 * and the variants choose kappa_i (table of the official `libs/uvit.py`, `scalelong` codes 0-4):
 *
 *   org     kappa_i = 1
 *   sqrt2   kappa_i = 2^(-1/2)                  ("1/sqrt2-CS", Imagen / SR3 / NCSN++ style; multiplies only the skip)
 *   cs      kappa_i = kappa^(i-1)                (constant scaling: the outermost skip x1, the deepest x kappa^(N-1))
 *   ls      kappa_i = zeta(skip_i)               (learnable scaling: an SE-style calibration net, sigmoid output)
 *
 * Everything else (loss, schedule, optimiser) is unchanged; the skip is scaled *before* the model's
 * own fusion (concat + linear in U-ViT, concat + conv in the DDPM UNet), as the official code does.
 *
 * The `@methodzoo/models` UNet and UViT route every long skip through `fuseSkip(h, skip, index)`
 * with index 0 the outermost skip, so index = i - 1 and CS multiplies skip `index` by kappa^index.
 *
 * LS's zeta:
 *   - UViT (the official code, class `Attentionlayer`): pools the *channels* of skip [B, L, D] and
 *     gates the *tokens*: g = sigmoid(W2 relu(W1 mean_D(skip))), W1: L -> floor(L/16), output [B, L, 1].
 *     Its width is the token count, so a trained gate is tied to one image and patch size.
 *   - conv UNet (our adaptation; the official repository has no conv-UNet code): a per-channel
 *     squeeze-and-excitation gate per skip, GAP over H x W, C -> C/16 -> C, sigmoid, output [B, C, 1, 1].
 *     Skip widths differ by level, so `shared` here means one gate per distinct width (the closest
 *     thing to the paper's single shared zeta), and non-shared one gate per skip.
 *   Both keep PyTorch's default Linear init (U(+-1/sqrt(fan_in))), as the official gate does, so the
 *   gates start near 0.5.
 */
import { mean, nn, OpError, type Generator, type Tensor } from '@methodzoo/core';
import { UNet, UViT } from '@methodzoo/models';

export type ScaleLongStrategy =
  | { kind: 'org' }
  | { kind: 'sqrt2' }
  | { kind: 'cs'; kappa: number }
  | { kind: 'ls'; shared: boolean; reduction: number; generator?: Generator };

/** Original UNet: every skip x1. */
export const org = (): ScaleLongStrategy => ({ kind: 'org' });
/** 1/sqrt(2)-CS: every skip x 2^(-1/2). */
export const sqrt2 = (): ScaleLongStrategy => ({ kind: 'sqrt2' });
/** Constant scaling: skip i (1 = outermost) x kappa^(i-1). The official default kappa is 0.5; its README suggests 0.5-0.95. */
export function cs(opts: { kappa?: number } = {}): ScaleLongStrategy {
  const kappa = opts.kappa ?? 0.5;
  if (!(kappa > 0 && kappa <= 1)) throw new OpError('cs', `kappa must be in (0, 1], got ${kappa}`);
  return { kind: 'cs', kappa };
}
/** Learnable scaling: an SE-style gate on each skip, shared across skips (default) or one per skip. */
export function ls(opts: { shared?: boolean; reduction?: number; generator?: Generator } = {}): ScaleLongStrategy {
  const reduction = opts.reduction ?? 16;
  if (!(reduction > 0)) throw new OpError('ls', `reduction must be positive, got ${reduction}`);
  return { kind: 'ls', shared: opts.shared ?? true, reduction, generator: opts.generator };
}

/** A readable name: 'org', '1/sqrt2-CS', 'CS(kappa=0.5)', 'LS', 'LS (non-shared)'. */
export function strategyName(s: ScaleLongStrategy): string {
  if (s.kind === 'org') return 'org';
  if (s.kind === 'sqrt2') return '1/sqrt2-CS';
  if (s.kind === 'cs') return `CS(kappa=${s.kappa})`;
  return s.shared ? 'LS' : 'LS (non-shared)';
}

/** CS coefficients kappa^(i-1) for i = 1..N, outermost skip first (= skip index order). */
export function csCoefficients(numSkips: number, kappa: number): number[] {
  if (!Number.isInteger(numSkips) || numSkips < 0) throw new OpError('csCoefficients', `numSkips must be a non-negative integer, got ${numSkips}`);
  return Array.from({ length: numSkips }, (_, i) => kappa ** i);
}

/** The constant coefficient of every skip (index order), or null for LS (input-dependent). */
export function skipCoefficients(s: ScaleLongStrategy, numSkips: number): number[] | null {
  if (s.kind === 'org') return Array(numSkips).fill(1);
  if (s.kind === 'sqrt2') return Array(numSkips).fill(Math.SQRT1_2);
  if (s.kind === 'cs') return csCoefficients(numSkips, s.kappa);
  return null;
}

/** sum_i kappa_i^2, the factor the paper's forward/backward oscillation bounds grow with. */
export function sumSquaredCoefficients(s: ScaleLongStrategy, numSkips: number): number {
  const c = skipCoefficients(s, numSkips);
  if (!c) throw new OpError('sumSquaredCoefficients', 'LS coefficients depend on the input; there is no closed form');
  return c.reduce((a, k) => a + k * k, 0);
}

/**
 * The official LS calibration net for token skips: zeta(s) = sigmoid(fc2(relu(fc1(mean_D(s))))).
 *
 * Shape: skip [B, L, D] -> gate [B, L, 1]. Parameters: 2 L floor(L/r) + floor(L/r) + L (8,497 for L = 257).
 */
export class TokenGate extends nn.Module {
  readonly tokens: number;
  fc1: nn.Linear;
  fc2: nn.Linear;
  constructor(tokens: number, opts: { reduction?: number } & nn.FactoryOptions = {}) {
    super();
    if (!Number.isInteger(tokens) || tokens <= 0) throw new OpError('TokenGate', `tokens must be a positive integer, got ${tokens}`);
    const hidden = Math.max(1, Math.floor(tokens / (opts.reduction ?? 16)));
    this.tokens = tokens;
    this.fc1 = new nn.Linear(tokens, hidden, opts);
    this.fc2 = new nn.Linear(hidden, tokens, opts);
  }
  forward(skip: Tensor): Tensor {
    if (skip.ndim !== 3 || skip.shape[1] !== this.tokens) throw new OpError('TokenGate', `expected skip [B, ${this.tokens}, D], got [${skip.shape.join(', ')}]`);
    const g = this.fc2.call(this.fc1.call(mean(skip, -1)).relu()).sigmoid();
    return g.reshape([skip.shape[0]!, this.tokens, 1]);
  }
}

/**
 * The conv-UNet adaptation of zeta: a squeeze-and-excitation channel gate.
 *
 * Shape: skip [B, C, H, W] -> gate [B, C, 1, 1].
 */
export class ChannelGate extends nn.Module {
  readonly channels: number;
  fc1: nn.Linear;
  fc2: nn.Linear;
  constructor(channels: number, opts: { reduction?: number } & nn.FactoryOptions = {}) {
    super();
    if (!Number.isInteger(channels) || channels <= 0) throw new OpError('ChannelGate', `channels must be a positive integer, got ${channels}`);
    const hidden = Math.max(1, Math.floor(channels / (opts.reduction ?? 16)));
    this.channels = channels;
    this.fc1 = new nn.Linear(channels, hidden, opts);
    this.fc2 = new nn.Linear(hidden, channels, opts);
  }
  forward(skip: Tensor): Tensor {
    if (skip.ndim !== 4 || skip.shape[1] !== this.channels) throw new OpError('ChannelGate', `expected skip [B, ${this.channels}, H, W], got [${skip.shape.join(', ')}]`);
    const g = this.fc2.call(this.fc1.call(mean(skip, [2, 3])).relu()).sigmoid();
    return g.reshape([skip.shape[0]!, this.channels, 1, 1]);
  }
}

/** A UNet-like model whose long skips all pass through `fuseSkip` (index 0 = outermost). */
export interface SkipFusingModel extends nn.Module {
  readonly numSkips: number;
  fuseSkip(h: Tensor, skip: Tensor, index: number): Tensor;
}

/** How LS gates a user model's skips: token gates of width `tokens`, or channel gates of each skip's width. */
export type GateLayout = { kind: 'token'; tokens: number } | { kind: 'channel'; channels: readonly number[] };

export interface ScaleLongHandle {
  readonly strategy: ScaleLongStrategy;
  readonly name: string;
  readonly numSkips: number;
  /** Constant coefficients by skip index (outermost first), null for LS. */
  readonly coefficients: number[] | null;
  /** LS: the gate module of each skip index (shared gates repeat); empty otherwise. */
  readonly gates: nn.Module[];
  /** LS: set true to record each gate's mean in `lastGateMeans` (a readback per skip per forward). */
  trackGates: boolean;
  /** LS with `trackGates`: mean gate value per skip index in the last forward (NaN before one). */
  readonly lastGateMeans: number[];
  /** Restores the model's own `fuseSkip` and unregisters the gates. */
  remove(): void;
}

function layoutOf(model: SkipFusingModel, given?: GateLayout): GateLayout {
  if (given) return given;
  if (model instanceof UViT) return { kind: 'token', tokens: model.extras + (model.imageSize / model.patchSize) ** 2 };
  if (model instanceof UNet) return { kind: 'channel', channels: model.skipChannels };
  throw new OpError('applyScaleLong', 'LS on a model that is neither UNet nor UViT needs opts.gates ({ kind: "token", tokens } or { kind: "channel", channels })');
}

/**
 * Installs a skip-scaling strategy on `model` (in place) by wrapping its `fuseSkip`: skip `index`
 * is multiplied by its coefficient (or LS gate) before the model's own fusion. LS gates are
 * registered as the child `scalelong` so the optimiser, EMA and state dict see them
 * (`scalelong.fc1.weight` shared; `scalelong.{k}.fc1.weight` per gate otherwise).
 *
 * Example:
 * ```ts
 * const unet = applyScaleLong(new UNet({ inChannels: 1, modelChannels: 32 }), cs({ kappa: 0.7 }));
 * ```
 */
export function applyScaleLong<M extends SkipFusingModel>(model: M, strategy: ScaleLongStrategy, opts: { gates?: GateLayout } = {}): M & { scaleLong: ScaleLongHandle } {
  const existing = (model as { scaleLong?: ScaleLongHandle }).scaleLong;
  if (existing) throw new OpError('applyScaleLong', `the model already has ScaleLong (${existing.name}); call model.scaleLong.remove() first`);
  const n = model.numSkips;
  if (typeof model.fuseSkip !== 'function' || !Number.isInteger(n)) throw new OpError('applyScaleLong', 'model must expose numSkips and fuseSkip(h, skip, index)');
  const base = model.fuseSkip;
  const own = Object.getOwnPropertyDescriptor(model, 'fuseSkip');
  const coefficients = skipCoefficients(strategy, n);
  const gates: nn.Module[] = [];
  const lastGateMeans: number[] = Array(n).fill(Number.NaN);
  if (strategy.kind === 'ls') {
    const layout = layoutOf(model, opts.gates);
    const gopts = { reduction: strategy.reduction, generator: strategy.generator };
    if (layout.kind === 'token') {
      if (strategy.shared) {
        const g = new TokenGate(layout.tokens, gopts);
        for (let i = 0; i < n; i++) gates.push(g);
        model.registerModule('scalelong', g);
      } else {
        for (let i = 0; i < n; i++) gates.push(new TokenGate(layout.tokens, gopts));
        model.registerModule('scalelong', new nn.ModuleList(gates));
      }
    } else {
      if (layout.channels.length !== n) throw new OpError('applyScaleLong', `gates.channels has ${layout.channels.length} widths for ${n} skips`);
      if (strategy.shared) {
        const byWidth = new Map<number, ChannelGate>();
        for (const c of layout.channels) if (!byWidth.has(c)) byWidth.set(c, new ChannelGate(c, gopts));
        for (const c of layout.channels) gates.push(byWidth.get(c)!);
        model.registerModule('scalelong', new nn.ModuleList([...byWidth.values()]));
      } else {
        for (const c of layout.channels) gates.push(new ChannelGate(c, gopts));
        model.registerModule('scalelong', new nn.ModuleList(gates));
      }
    }
  }
  const scaled = function (this: M, h: Tensor, skip: Tensor, index: number): Tensor {
    if (coefficients) return base.call(this, h, coefficients[index] === 1 ? skip : skip.mul(coefficients[index]!), index);
    const gate = gates[index]!.call(skip) as Tensor;
    if (handle.trackGates) lastGateMeans[index] = gate.detach().mean().item();
    return base.call(this, h, skip.mul(gate), index);
  };
  const handle: ScaleLongHandle = {
    strategy,
    name: strategyName(strategy),
    numSkips: n,
    coefficients,
    gates,
    trackGates: false,
    lastGateMeans,
    remove() {
      delete (model as { fuseSkip?: unknown }).fuseSkip;
      if (own) Object.defineProperty(model, 'fuseSkip', own);
      delete (model as { scaleLong?: unknown }).scaleLong;
      if (gates.length > 0) model.registerModule('scalelong', null);
    },
  };
  Object.defineProperty(model, 'fuseSkip', { value: scaled, configurable: true, writable: true, enumerable: false });
  Object.defineProperty(model, 'scaleLong', { value: handle, configurable: true, enumerable: false });
  return model as M & { scaleLong: ScaleLongHandle };
}
