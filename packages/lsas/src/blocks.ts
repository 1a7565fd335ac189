/**
 * Ready attention blocks and CIFAR ResNet presets for LSAS (arXiv 2305.05200, figure 3; placement
 * as in the official `cifar/senet.py` and `cifar/lsas_senet.py`).
 *
 * - `SEAttention`: Squeeze-and-Excitation (Hu et al. 2018) that exposes its pre-sigmoid logits,
 *   `v = fc2(relu(fc1(GAP(x))))`, so LSAS can act on them. Same state-dict keys as the models
 *   package's `SEBlock` (`fc1.weight`, ..., `fc2.bias`), hidden width max(1, floor(C / r)).
 * - `seBlock(C)` and `lsasSEBlock(C, { order })`: factories for `@methodzoo/models`' ResNet
 *   attention hook.
 * - `lsasResNet({ depth, attention, preset })`: the official placement puts SE in every block of
 *   every stage for the SE baseline but SE+LSAS only in the last CIFAR stage (`official`);
 *   `allStages` puts SE+LSAS everywhere.
 */
import { mean, mul, nn, OpError, reshape, sigmoid, type Tensor } from '@methodzoo/core';
import { CifarResNet, resnet50, type AttentionFactory, type CifarResNetOptions, type ImageNetResNet, type ImageNetResNetOptions } from '@methodzoo/models';
import { LSASAttention, type ChannelAttention, type GateListener } from './lsas.js';

export interface SEAttentionOptions extends nn.FactoryOptions {
  /** r (16 as the official code); the hidden layer has max(1, floor(C / r)) units. */
  reduction?: number;
}

/**
 * SE channel attention with its logits exposed. `call(x)` is x * sigmoid(logits(x)).
 *
 * Shape: x [N, C, H, W] -> [N, C, H, W]; logits and gate [N, C].
 */
export class SEAttention extends nn.Module implements ChannelAttention {
  readonly channels: number;
  readonly hidden: number;
  fc1: nn.Linear;
  fc2: nn.Linear;
  readonly #listeners = new Set<GateListener>();

  constructor(channels: number, opts: SEAttentionOptions = {}) {
    super();
    const r = opts.reduction ?? 16;
    if (!Number.isInteger(channels) || channels <= 0) throw new OpError('SEAttention', `channels must be a positive integer, got ${channels}`);
    if (!(r > 0)) throw new OpError('SEAttention', `reduction must be positive, got ${r}`);
    this.channels = channels;
    this.hidden = Math.max(1, Math.floor(channels / r));
    const lin = { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };
    this.fc1 = new nn.Linear(channels, this.hidden, lin);
    this.fc2 = new nn.Linear(this.hidden, channels, lin);
  }

  logits(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.channels) throw new OpError('SEAttention', `expected input [N, ${this.channels}, H, W], got [${x.shape.join(', ')}]`);
    return this.fc2.call(this.fc1.call(mean(x, [2, 3])).relu());
  }

  gate(x: Tensor): Tensor {
    return sigmoid(this.logits(x));
  }

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
    return `channels=${this.channels}, hidden=${this.hidden}`;
  }
}

export interface LSASSEOptions extends SEAttentionOptions {
  /** n (1). */
  order?: number;
  initW?: number;
  initB?: number;
}

/** An SE block (the baseline). */
export function seBlock(channels: number, opts: SEAttentionOptions = {}): SEAttention {
  return new SEAttention(channels, opts);
}

/** An LSAS-SE block: SE logits followed by an order-n sub-attention chain. Keys `base.fc1.*`, `lsas.w1`, ... */
export function lsasSEBlock(channels: number, opts: LSASSEOptions = {}): LSASAttention {
  const { order, initW, initB, ...se } = opts;
  return new LSASAttention(new SEAttention(channels, se), { order, initW, initB, dtype: opts.dtype, backend: opts.backend });
}

export type AttentionKind = 'none' | 'se' | 'lsas-se';
export type LSASPreset = 'official' | 'allStages';

/** Where and which attention a ResNet preset gets (CIFAR or ImageNet backbone). */
export interface LSASAttentionOptions {
  /** Which attention the blocks get ('lsas-se'). */
  attention?: AttentionKind;
  /**
   * Where attention goes: `official` (default) puts LSAS-SE where the official models do (the last
   * CIFAR stage; `layer3` and `layer4` of ResNet-50) and SE in every stage; `allStages` puts it in
   * every stage.
   */
  preset?: LSASPreset;
  /** 1-based stages that get attention; overrides the preset. */
  stages?: number[];
  order?: number;
  reduction?: number;
  initW?: number;
  initB?: number;
}

export interface LSASResNetOptions extends Omit<CifarResNetOptions, 'attention'>, LSASAttentionOptions {}

/**
 * The 1-based stages that get attention for these options, for a backbone of `numStages` stages (3
 * for the CIFAR ResNet, 4 for the ImageNet one). The official LSAS-SE placement is the last CIFAR
 * stage, and the last two ImageNet stages (`layer3`, `layer4`).
 */
export function attentionStages(opts: Pick<LSASResNetOptions, 'attention' | 'preset' | 'stages'>, numStages = 3): number[] {
  const all = Array.from({ length: numStages }, (_, i) => i + 1);
  if (opts.stages) {
    for (const s of opts.stages) if (!all.includes(s)) throw new OpError('lsasResNet', `stages must be within 1..${numStages}, got ${s}`);
    return [...opts.stages];
  }
  const preset = opts.preset ?? 'official';
  if (preset !== 'official' && preset !== 'allStages') throw new OpError('lsasResNet', `preset must be 'official' or 'allStages', got '${String(preset)}'`);
  if ((opts.attention ?? 'lsas-se') === 'none') return [];
  if (preset === 'official' && (opts.attention ?? 'lsas-se') === 'lsas-se') return numStages === 4 ? [3, 4] : [numStages];
  return all;
}

/** The ResNet attention hook for these options (`numStages` as in `attentionStages`). */
export function attentionFactory(opts: LSASAttentionOptions & nn.FactoryOptions, numStages = 3): AttentionFactory | null {
  const kind = opts.attention ?? 'lsas-se';
  if (kind !== 'none' && kind !== 'se' && kind !== 'lsas-se') throw new OpError('lsasResNet', `attention must be 'none', 'se' or 'lsas-se', got '${String(kind)}'`);
  const stages = attentionStages(opts, numStages);
  if (kind === 'none') return null;
  const f = { reduction: opts.reduction, dtype: opts.dtype, backend: opts.backend, generator: opts.generator };
  return (channels, _block, stage) => {
    if (!stages.includes(stage + 1)) return null;
    return kind === 'se' ? seBlock(channels, f) : lsasSEBlock(channels, { ...f, order: opts.order, initW: opts.initW, initB: opts.initB });
  };
}

/**
 * CIFAR ResNet with SE or LSAS-SE attention. E.g. the official CIFAR-100 LSAS-SE ResNet-164:
 * `lsasResNet({ depth: 164, block: 'bottleneck', numClasses: 100 })` (1,888,852 parameters).
 */
export function lsasResNet(opts: LSASResNetOptions): CifarResNet {
  return new CifarResNet({ ...opts, attention: attentionFactory(opts) });
}

export interface LSASResNet50Options extends Omit<ImageNetResNetOptions, 'attention' | 'layers' | 'block'>, LSASAttentionOptions {}

/**
 * ImageNet ResNet-50 (torchvision layout) with SE or LSAS-SE attention, as the official
 * `imagenet/senet.py` / `imagenet/lsas_senet.py`: `lsasResNet50({ attention: 'se' })` has SE (r = 16)
 * in every block (28,088,024 parameters); `lsasResNet50()` has SE + LSAS (order 1) in `layer3` and
 * `layer4` only (27,953,960).
 */
export function lsasResNet50(opts: LSASResNet50Options = {}): ImageNetResNet {
  const { attention, preset, stages, order, reduction, initW, initB, ...rest } = opts;
  return resnet50({ ...rest, attention: attentionFactory(opts, 4) });
}

/** Attention modules that report their gates. */
export type GatedModule = SEAttention | LSASAttention;

export interface GateWatch {
  /** The latest gate of each gated block [N * C], by module path, e.g. `layer3.0.attention`. */
  readonly latest: Map<string, { shape: [number, number]; values: Float32Array }>;
  /** Mean gate value of each block over every forward since watching began. */
  means(): Map<string, number>;
  /** Mean gate value per 1-based stage (blocks named `layerK.*`), over every forward since watching began. */
  stageMeans(): Map<number, number>;
  remove(): void;
}

/** Watches every SE / LSAS-SE block of a model: their gates are copied out on each forward. */
export function watchGates(model: nn.Module): GateWatch {
  const latest = new Map<string, { shape: [number, number]; values: Float32Array }>();
  const sums = new Map<string, { sum: number; count: number }>();
  const handles = model
    .namedModules()
    .filter(([, m]) => m instanceof SEAttention || m instanceof LSASAttention)
    .map(([name, m]) =>
      (m as GatedModule).addGateListener((g) => {
        const values = Float32Array.from(g.dataSync());
        latest.set(name, { shape: [g.shape[0]!, g.shape[1]!], values });
        const acc = sums.get(name) ?? { sum: 0, count: 0 };
        for (const v of values) acc.sum += v;
        acc.count += values.length;
        sums.set(name, acc);
      }),
    );
  return {
    latest,
    means: () => new Map([...sums].map(([k, v]) => [k, v.sum / v.count])),
    stageMeans() {
      const by = new Map<number, { sum: number; count: number }>();
      for (const [name, v] of sums) {
        const m = /^layer(\d+)\./.exec(name);
        if (!m) continue;
        const s = Number(m[1]);
        const acc = by.get(s) ?? { sum: 0, count: 0 };
        acc.sum += v.sum;
        acc.count += v.count;
        by.set(s, acc);
      }
      return new Map([...by].sort((a, b) => a[0] - b[0]).map(([k, v]) => [k, v.sum / v.count]));
    },
    remove: () => handles.forEach((h) => h.remove()),
  };
}
