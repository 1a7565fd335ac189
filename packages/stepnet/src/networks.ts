/**
 * Networks built from `ResidualStep` blocks, three stages each, with a per-block `connectionScheme`
 * mask saying which blocks get a step-size adaptor. The paper uses its view to explain the lottery
 * ticket hypothesis for self-attention (Huang et al. 2022, arXiv 2207.07858: SAM on a subset of
 * blocks can match SAM on all of them): only blocks whose trajectory is stiff need an adaptive step.
 *
 * - `StepResNet`: CIFAR-style ResNet (depth 6n + 2 basic / 9n + 2 bottleneck, stages 16/32/64 x
 *   width) with the member names of `@methodzoo/models`' CifarResNet (post-activation) or bearpaw's
 *   pre-activation ResNet (`conv1`, layers, final `bn`), so their state dicts load by name.
 * - `StepMLP`: a residual MLP for flattened images (the reproduction's backbone): a Linear stem,
 *   three stages of 'mlp' ResidualSteps (the first block of a stage changes the width when the
 *   stage widths differ), a Linear head.
 *
 * Both thread the R2 memory from block to block in forward order.
 */
import { flatten, nn, OpError, type Tensor } from '@methodzoo/core';
import { ResidualStep, type Activation, type AdaptorOption } from './blocks.js';

export interface StepNetworkOptions extends nn.FactoryOptions {
  /** Adaptor of the blocks the scheme selects ('none'). */
  adaptor?: AdaptorOption;
  /** One boolean per block in forward order: true gets `adaptor`, false is plain. All true by default. */
  connectionScheme?: readonly boolean[];
  /** 'post' (default) or 'pre'. */
  activation?: Activation;
  /** SE reduction r (16). */
  reduction?: number;
  /** Classifier outputs (10). */
  numClasses?: number;
}

/** Checks a connection scheme against a block count; defaults to all true. */
export function checkConnectionScheme(op: string, scheme: readonly boolean[] | undefined, blocks: number, layout: string): boolean[] {
  if (scheme === undefined) return Array.from({ length: blocks }, () => true);
  if (!Array.isArray(scheme) || scheme.length !== blocks) {
    throw new OpError(op, `connectionScheme must have one boolean per residual block (${blocks} = ${layout}), got ${Array.isArray(scheme) ? `${scheme.length} entries` : String(scheme)}`);
  }
  scheme.forEach((v, i) => {
    if (typeof v !== 'boolean') throw new OpError(op, `connectionScheme[${i}] must be a boolean, got ${String(v)}`);
  });
  return [...scheme];
}

/** Shared forward: stem, the blocks in order with the R2 memory threaded, head. */
export abstract class StepNetwork extends nn.Module {
  readonly numClasses: number;
  readonly blocksPerStage: number;
  declare layer1: nn.Sequential;
  declare layer2: nn.Sequential;
  declare layer3: nn.Sequential;

  constructor(numClasses: number, blocksPerStage: number) {
    super();
    this.numClasses = numClasses;
    this.blocksPerStage = blocksPerStage;
  }

  /** The stages `layer1`, `layer2`, `layer3`. */
  stages(): nn.Sequential[] {
    return [this.layer1, this.layer2, this.layer3];
  }

  /** Every block in forward order (`layer1.0`, ..., `layer3.{n-1}`). */
  blocks(): ResidualStep[] {
    return this.stages().flatMap((s) => [...s] as ResidualStep[]);
  }

  /** Which blocks have an adaptor, in forward order. */
  connectionScheme(): boolean[] {
    return this.blocks().map((b) => b.attention !== null);
  }

  /** Forces every block's step to `value` (null: back to the adaptors). */
  setFixedStep(value: number | null): void {
    for (const b of this.blocks()) b.fixedStep = value;
  }

  protected abstract stem(x: Tensor): Tensor;
  protected abstract head(h: Tensor): Tensor;

  /** Pooled features [N, F] (everything before `fc`). */
  forwardFeatures(x: Tensor): Tensor {
    let h = this.stem(x);
    const blocks = this.blocks();
    const emit = blocks.some((b) => b.attention?.usesMemory === true);
    let memory: Tensor | null = null;
    for (const b of blocks) {
      const o = b.forwardStep(h, memory, emit);
      h = o.output;
      memory = o.memory;
    }
    return this.head(h);
  }

  abstract override forward(x: Tensor): Tensor;
}

export interface StepResNetOptions extends StepNetworkOptions {
  /** 6n + 2 for basic blocks, 9n + 2 for bottleneck blocks (164: n = 18). */
  depth: number;
  block?: 'basic' | 'bottleneck';
  /** Input image channels (3; 1 for MNIST). */
  inChannels?: number;
  /** Multiplies the stage widths 16/32/64 (1). */
  width?: number;
}

/**
 * CIFAR ResNet of ResidualSteps.
 *
 * Shape: [N, inChannels, H, W] -> [N, numClasses].
 *
 * Children (post): `conv1`, `bn1`, `relu`, `layer1..3`, `avgpool`, `fc` (as CifarResNet);
 * (pre): `conv1`, `layer1..3`, `bn`, `relu`, `avgpool`, `fc` (as bearpaw's preresnet).
 * Initialisation: conv kaiming_normal (fan_out, relu), BN 1 / 0, Linear PyTorch's default.
 *
 * Example: the SE-ResNet-164 of the paper's CIFAR setting,
 * `new StepResNet({ depth: 164, block: 'bottleneck', adaptor: 'se', numClasses: 100 })`.
 */
export class StepResNet extends StepNetwork {
  readonly depth: number;
  readonly blockType: 'basic' | 'bottleneck';
  readonly widths: readonly [number, number, number];
  readonly activation: Activation;
  declare conv1: nn.Conv2d;
  declare bn1: nn.BatchNorm2d | undefined;
  declare bn: nn.BatchNorm2d | undefined;
  declare relu: nn.ReLU;
  declare avgpool: nn.AdaptiveAvgPool2d;
  declare fc: nn.Linear;

  constructor(opts: StepResNetOptions) {
    const kind = opts.block ?? 'basic';
    if (kind !== 'basic' && kind !== 'bottleneck') throw new OpError('StepResNet', `block must be 'basic' or 'bottleneck', got '${String(kind)}'`);
    const per = kind === 'basic' ? 6 : 9;
    const depth = opts.depth;
    if (!Number.isInteger(depth) || depth < per + 2 || (depth - 2) % per !== 0) throw new OpError('StepResNet', `depth must be ${per}n + 2 (n >= 1) for ${kind} blocks, got ${depth}`);
    const width = opts.width ?? 1;
    if (!(width > 0)) throw new OpError('StepResNet', `width must be positive, got ${width}`);
    const n = (depth - 2) / per;
    super(opts.numClasses ?? 10, n);
    const scheme = checkConnectionScheme('StepResNet', opts.connectionScheme, 3 * n, `3 stages x ${n}`);
    this.depth = depth;
    this.blockType = kind;
    this.activation = opts.activation ?? 'post';
    this.widths = [16, 32, 64].map((w) => Math.max(1, Math.round(w * width))) as [number, number, number];
    const layer: nn.FactoryOptions = { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };
    const pre = this.activation === 'pre';
    const w0 = this.widths[0];
    this.registerModule('conv1', new nn.Conv2d(opts.inChannels ?? 3, w0, 3, { ...layer, padding: 1, bias: false }));
    if (!pre) this.registerModule('bn1', new nn.BatchNorm2d(w0, layer));
    if (!pre) this.registerModule('relu', new nn.ReLU());
    let inplanes = w0;
    this.widths.forEach((planes, s) => {
      const blocks: ResidualStep[] = [];
      for (let j = 0; j < n; j++) {
        const b: ResidualStep = new ResidualStep(inplanes, planes, {
          ...layer,
          block: kind,
          activation: this.activation,
          stride: j === 0 && s > 0 ? 2 : 1,
          adaptor: scheme[s * n + j] ? (opts.adaptor ?? 'none') : 'none',
          reduction: opts.reduction,
        });
        blocks.push(b);
        inplanes = b.outChannels;
      }
      this.registerModule(`layer${s + 1}`, new nn.Sequential(...blocks));
    });
    if (pre) {
      this.registerModule('bn', new nn.BatchNorm2d(inplanes, layer));
      this.registerModule('relu', new nn.ReLU());
    }
    this.registerModule('avgpool', new nn.AdaptiveAvgPool2d(1));
    this.registerModule('fc', new nn.Linear(inplanes, this.numClasses, layer));
    for (const m of this.modules()) {
      if (m instanceof nn.Conv2d) nn.init.kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu', generator: opts.generator });
    }
  }

  protected stem(x: Tensor): Tensor {
    const h = this.conv1.call(x);
    return this.bn1 ? this.relu.call(this.bn1.call(h)) : h;
  }

  protected head(h: Tensor): Tensor {
    const out = this.bn ? this.relu.call(this.bn.call(h)) : h;
    return flatten(this.avgpool.call(out), 1);
  }

  forward(x: Tensor): Tensor {
    return this.fc.call(this.forwardFeatures(x));
  }
}

export interface StepMLPOptions extends StepNetworkOptions {
  /** Input features (784); [N, 1, 28, 28] images are flattened. */
  inFeatures?: number;
  /** Width of each stage ([64, 64, 64]). */
  widths?: readonly [number, number, number];
  /** Blocks per stage (6). */
  blocksPerStage?: number;
}

/**
 * Residual MLP of 'mlp' ResidualSteps.
 *
 * Shape: [N, inFeatures] or [N, C, H, W] with C H W = inFeatures -> [N, numClasses].
 *
 * Children (post): `fc0`, `bn0`, `relu`, `layer1..3`, `fc`; (pre): `fc0`, `layer1..3`, `bn`, `relu`, `fc`.
 */
export class StepMLP extends StepNetwork {
  readonly inFeatures: number;
  readonly widths: readonly [number, number, number];
  readonly activation: Activation;
  declare fc0: nn.Linear;
  declare bn0: nn.BatchNorm1d | undefined;
  declare bn: nn.BatchNorm1d | undefined;
  declare relu: nn.ReLU;
  declare fc: nn.Linear;

  constructor(opts: StepMLPOptions = {}) {
    const n = opts.blocksPerStage ?? 6;
    if (!Number.isInteger(n) || n < 1) throw new OpError('StepMLP', `blocksPerStage must be a positive integer, got ${n}`);
    const widths = opts.widths ?? [64, 64, 64];
    if (widths.length !== 3 || !widths.every((w) => Number.isInteger(w) && w > 0)) throw new OpError('StepMLP', `widths must be three positive integers, got ${JSON.stringify(widths)}`);
    super(opts.numClasses ?? 10, n);
    const scheme = checkConnectionScheme('StepMLP', opts.connectionScheme, 3 * n, `3 stages x ${n}`);
    this.inFeatures = opts.inFeatures ?? 784;
    this.widths = [...widths] as [number, number, number];
    this.activation = opts.activation ?? 'post';
    const layer: nn.FactoryOptions = { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };
    const pre = this.activation === 'pre';
    this.registerModule('fc0', new nn.Linear(this.inFeatures, widths[0], { ...layer, bias: false }));
    if (!pre) this.registerModule('bn0', new nn.BatchNorm1d(widths[0], layer));
    if (!pre) this.registerModule('relu', new nn.ReLU());
    let inplanes = widths[0];
    widths.forEach((planes, s) => {
      const blocks: ResidualStep[] = [];
      for (let j = 0; j < n; j++) {
        blocks.push(new ResidualStep(inplanes, planes, { ...layer, block: 'mlp', activation: this.activation, adaptor: scheme[s * n + j] ? (opts.adaptor ?? 'none') : 'none', reduction: opts.reduction }));
        inplanes = planes;
      }
      this.registerModule(`layer${s + 1}`, new nn.Sequential(...blocks));
    });
    if (pre) {
      this.registerModule('bn', new nn.BatchNorm1d(inplanes, layer));
      this.registerModule('relu', new nn.ReLU());
    }
    this.registerModule('fc', new nn.Linear(inplanes, this.numClasses, layer));
  }

  protected stem(x: Tensor): Tensor {
    const flat = x.ndim === 2 ? x : flatten(x, 1);
    if (flat.shape[1] !== this.inFeatures) throw new OpError('StepMLP', `expected ${this.inFeatures} input features, got input [${x.shape.join(', ')}]`);
    const h = this.fc0.call(flat);
    return this.bn0 ? this.relu.call(this.bn0.call(h)) : h;
  }

  protected head(h: Tensor): Tensor {
    return this.bn ? this.relu.call(this.bn.call(h)) : h;
  }

  forward(x: Tensor): Tensor {
    return this.fc.call(this.forwardFeatures(x));
  }
}
