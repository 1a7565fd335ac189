/**
 * CIFAR-style ResNet (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016, section
 * 4.2): a 3x3 stem, three stages of residual blocks at 16/32/64 channels (halving the resolution at
 * the start of stages 2 and 3), global average pooling and a linear classifier.
 *
 *   depth = 6n + 2 with basic blocks        (ResNet-20/32/44/56/110: n = 3/5/7/9/18)
 *   depth = 9n + 2 with bottleneck blocks   (ResNet-164: n = 18; outputs 4x the stage width)
 *
 * Shortcuts are the paper's option B: identity, or a 1x1 conv + BN projection where the shape
 * changes, held in `downsample` as torchvision names it. Member names follow torchvision
 * (`conv1`, `bn1`, `layer1.0.conv1.weight`, `layer2.0.downsample.0.weight`, `fc.bias`), so the
 * state-dict keys equal those of the PyTorch twin in tools/golden/models_golden.py.
 *
 * Attention hook: `attention(channels, blockIndex, stageIndex)` builds a module applied to the
 * residual branch just before the addition, where SE-ResNet (Hu et al. 2018, fig. 3) puts SE. It is
 * the block child `attention` (absent when the factory returns null). Methods that swap a
 * block's BatchNorm or attention assign the child (`block.bn1 = new MyNorm(c)`); the block calls
 * whatever module is there, and `stateDict()` keeps the member's place.
 */
import { add, flatten, nn, OpError, type Tensor } from '@methodzoo/core';

/**
 * Builds the attention module of one block, or null for none. `channels` is the block's output
 * width (the residual branch's), `blockIndex` the block's index inside its stage (0-based, the `j`
 * of `layer{s+1}.{j}`), `stageIndex` the stage's (0, 1, 2).
 */
export type AttentionFactory = (channels: number, blockIndex: number, stageIndex: number) => nn.Module | null;

export interface BlockOptions extends nn.FactoryOptions {
  stride?: number;
  attention?: nn.Module | null;
}

function checkTensor(op: string, x: Tensor, channels: number): void {
  if (x.ndim !== 4 || x.shape[1] !== channels) throw new OpError(op, `expected input [N, ${channels}, H, W], got [${x.shape.join(', ')}]`);
}

/** The layer-construction options only (not the block's own stride / attention). */
function factory(opts: nn.FactoryOptions): nn.FactoryOptions {
  return { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };
}

/** 1x1 conv + BN projection shortcut (option B), or null when the identity fits. */
/**
 * Registers the residual stages `layer1` ... `layerS` on `owner`: `depths[s]` blocks of width
 * `widths[s]`, the first block of every stage but the first striding by 2. Returns the width out of
 * the last stage. Shared by the CIFAR and ImageNet ResNets, whose stages differ only in sizes.
 */
export function addStages(
  owner: nn.Module,
  o: { block: 'basic' | 'bottleneck'; widths: readonly number[]; depths: readonly number[]; inplanes: number; layer: nn.FactoryOptions; attention?: AttentionFactory | null | undefined },
): number {
  const Block = o.block === 'basic' ? BasicBlock : Bottleneck;
  let inplanes = o.inplanes;
  o.widths.forEach((planes, s) => {
    const blocks: nn.Module[] = [];
    for (let j = 0; j < o.depths[s]!; j++) {
      const stride = j === 0 && s > 0 ? 2 : 1;
      const out = planes * Block.expansion;
      const attention = o.attention ? o.attention(out, j, s) : null;
      blocks.push(new Block(inplanes, planes, { ...o.layer, stride, attention }));
      inplanes = out;
    }
    owner.registerModule(`layer${s + 1}`, new nn.Sequential(...blocks));
  });
  return inplanes;
}

/** Kaiming-normal (fan_out, relu) init of every convolution, as torchvision's ResNets do. */
export function initConvs(owner: nn.Module, generator?: nn.FactoryOptions['generator']): void {
  for (const m of owner.modules()) {
    if (m instanceof nn.Conv2d) nn.init.kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu', generator });
  }
}

function shortcut(inplanes: number, outplanes: number, stride: number, opts: nn.FactoryOptions): nn.Sequential | null {
  if (stride === 1 && inplanes === outplanes) return null;
  return new nn.Sequential(new nn.Conv2d(inplanes, outplanes, 1, { ...opts, stride, bias: false }), new nn.BatchNorm2d(outplanes, opts));
}

/**
 * Basic block: conv3x3-BN-ReLU-conv3x3-BN, attention on that branch, plus the shortcut, then ReLU.
 *
 * Children (state-dict order): `conv1`, `bn1`, `conv2`, `bn2`, `attention` (optional), `downsample`
 * (optional), `relu` (no state). The norm and attention slots are typed `nn.Module` so a method can
 * put any module there.
 *
 * Shape: [N, inplanes, H, W] -> [N, planes, H / stride, W / stride].
 */
export class BasicBlock extends nn.Module {
  static readonly expansion = 1;
  readonly inplanes: number;
  readonly planes: number;
  readonly stride: number;
  conv1: nn.Module;
  bn1: nn.Module;
  conv2: nn.Module;
  bn2: nn.Module;
  declare attention: nn.Module | null;
  declare downsample: nn.Module | null;
  relu: nn.Module;

  constructor(inplanes: number, planes: number, opts: BlockOptions = {}) {
    super();
    const stride = opts.stride ?? 1;
    const layer = factory(opts);
    this.inplanes = inplanes;
    this.planes = planes;
    this.stride = stride;
    this.conv1 = new nn.Conv2d(inplanes, planes, 3, { ...layer, stride, padding: 1, bias: false });
    this.bn1 = new nn.BatchNorm2d(planes, layer);
    this.conv2 = new nn.Conv2d(planes, planes, 3, { ...layer, padding: 1, bias: false });
    this.bn2 = new nn.BatchNorm2d(planes, layer);
    this.registerModule('attention', opts.attention ?? null);
    this.registerModule('downsample', shortcut(inplanes, planes, stride, layer));
    this.relu = new nn.ReLU();
  }

  get outChannels(): number {
    return this.planes;
  }

  forward(x: Tensor): Tensor {
    checkTensor('BasicBlock', x, this.inplanes);
    let out = this.relu.call(this.bn1.call(this.conv1.call(x))) as Tensor;
    out = this.bn2.call(this.conv2.call(out)) as Tensor;
    if (this.attention) out = this.attention.call(out) as Tensor;
    const identity = this.downsample ? (this.downsample.call(x) as Tensor) : x;
    return this.relu.call(add(out, identity)) as Tensor;
  }
}

/**
 * Bottleneck block: conv1x1-BN-ReLU, conv3x3(stride)-BN-ReLU, conv1x1-BN to 4 x planes, attention,
 * shortcut, ReLU (torchvision's layout, stride on the 3x3).
 *
 * Children: `conv1`, `bn1`, `conv2`, `bn2`, `conv3`, `bn3`, `attention`, `downsample`, `relu`.
 *
 * Shape: [N, inplanes, H, W] -> [N, 4 planes, H / stride, W / stride].
 */
export class Bottleneck extends nn.Module {
  static readonly expansion = 4;
  readonly inplanes: number;
  readonly planes: number;
  readonly stride: number;
  conv1: nn.Module;
  bn1: nn.Module;
  conv2: nn.Module;
  bn2: nn.Module;
  conv3: nn.Module;
  bn3: nn.Module;
  declare attention: nn.Module | null;
  declare downsample: nn.Module | null;
  relu: nn.Module;

  constructor(inplanes: number, planes: number, opts: BlockOptions = {}) {
    super();
    const stride = opts.stride ?? 1;
    const layer = factory(opts);
    const out = planes * Bottleneck.expansion;
    this.inplanes = inplanes;
    this.planes = planes;
    this.stride = stride;
    this.conv1 = new nn.Conv2d(inplanes, planes, 1, { ...layer, bias: false });
    this.bn1 = new nn.BatchNorm2d(planes, layer);
    this.conv2 = new nn.Conv2d(planes, planes, 3, { ...layer, stride, padding: 1, bias: false });
    this.bn2 = new nn.BatchNorm2d(planes, layer);
    this.conv3 = new nn.Conv2d(planes, out, 1, { ...layer, bias: false });
    this.bn3 = new nn.BatchNorm2d(out, layer);
    this.registerModule('attention', opts.attention ?? null);
    this.registerModule('downsample', shortcut(inplanes, out, stride, layer));
    this.relu = new nn.ReLU();
  }

  get outChannels(): number {
    return this.planes * Bottleneck.expansion;
  }

  forward(x: Tensor): Tensor {
    checkTensor('Bottleneck', x, this.inplanes);
    let out = this.relu.call(this.bn1.call(this.conv1.call(x))) as Tensor;
    out = this.relu.call(this.bn2.call(this.conv2.call(out))) as Tensor;
    out = this.bn3.call(this.conv3.call(out)) as Tensor;
    if (this.attention) out = this.attention.call(out) as Tensor;
    const identity = this.downsample ? (this.downsample.call(x) as Tensor) : x;
    return this.relu.call(add(out, identity)) as Tensor;
  }
}

export type ResNetBlock = BasicBlock | Bottleneck;

export interface CifarResNetOptions extends nn.FactoryOptions {
  /** 6n + 2 for basic blocks (20, 32, 44, 56, 110), 9n + 2 for bottleneck blocks (164). */
  depth: number;
  /** 'basic' (default) or 'bottleneck'. */
  block?: 'basic' | 'bottleneck';
  /** Input image channels (3; 1 for MNIST). */
  inChannels?: number;
  /** Classifier outputs (10). */
  numClasses?: number;
  /** Multiplies the stage widths 16/32/64 (1); each is rounded and at least 1. */
  width?: number;
  /** Per-block attention (see AttentionFactory); none by default. */
  attention?: AttentionFactory | null;
}

/**
 * CIFAR ResNet.
 *
 * Args: see CifarResNetOptions. `resnet20()`, ..., `resnet164()` fix the depth.
 *
 * Shape: x [N, inChannels, H, W] (32x32 CIFAR, 28x28 MNIST, any size >= 4) -> logits [N, numClasses].
 *
 * Children (state-dict order): `conv1`, `bn1`, `relu`, `layer1`, `layer2`, `layer3` (Sequentials
 * of blocks), `avgpool`, `fc`.
 *
 * Initialisation: convolutions kaiming_normal (fan_out, relu) as torchvision; BN weight 1, bias 0;
 * `fc` PyTorch's Linear default.
 *
 * Example:
 * ```ts
 * const net = resnet20({ inChannels: 1 });
 * net.call(randn([4, 1, 28, 28])).shape; // [4, 10]
 * net.numParameters(); // 272186 (PyTorch's count for the same model)
 * ```
 */
export class CifarResNet extends nn.Module {
  readonly depth: number;
  readonly blockType: 'basic' | 'bottleneck';
  readonly blocksPerStage: number;
  readonly inChannels: number;
  readonly numClasses: number;
  readonly widths: readonly [number, number, number];
  conv1: nn.Module;
  bn1: nn.Module;
  relu: nn.Module;
  declare layer1: nn.Sequential;
  declare layer2: nn.Sequential;
  declare layer3: nn.Sequential;
  avgpool: nn.AdaptiveAvgPool2d;
  fc: nn.Linear;

  constructor(opts: CifarResNetOptions) {
    super();
    const kind = opts.block ?? 'basic';
    if (kind !== 'basic' && kind !== 'bottleneck') throw new OpError('CifarResNet', `block must be 'basic' or 'bottleneck', got '${String(kind)}'`);
    const per = kind === 'basic' ? 6 : 9;
    const depth = opts.depth;
    if (!Number.isInteger(depth) || depth < per + 2 || (depth - 2) % per !== 0) {
      throw new OpError('CifarResNet', `depth must be ${per}n + 2 (n >= 1) for ${kind} blocks, got ${depth}`);
    }
    const width = opts.width ?? 1;
    if (!(width > 0)) throw new OpError('CifarResNet', `width must be positive, got ${width}`);
    this.depth = depth;
    this.blockType = kind;
    this.blocksPerStage = (depth - 2) / per;
    this.inChannels = opts.inChannels ?? 3;
    this.numClasses = opts.numClasses ?? 10;
    this.widths = [16, 32, 64].map((w) => Math.max(1, Math.round(w * width))) as [number, number, number];
    const layer: nn.FactoryOptions = { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };

    const w0 = this.widths[0];
    this.conv1 = new nn.Conv2d(this.inChannels, w0, 3, { ...layer, padding: 1, bias: false });
    this.bn1 = new nn.BatchNorm2d(w0, layer);
    this.relu = new nn.ReLU();
    const inplanes = addStages(this, { block: kind, widths: this.widths, depths: this.widths.map(() => this.blocksPerStage), inplanes: w0, layer, attention: opts.attention });
    this.avgpool = new nn.AdaptiveAvgPool2d(1);
    this.fc = new nn.Linear(inplanes, this.numClasses, layer);
    initConvs(this, opts.generator);
  }

  /** Width of the features fed to `fc`. */
  get numFeatures(): number {
    return this.fc.inFeatures;
  }

  /** The stages `layer1`, `layer2`, `layer3`. */
  stages(): nn.Sequential[] {
    return [this.layer1, this.layer2, this.layer3];
  }

  /** Every residual block in forward order (`layer1.0`, ..., `layer3.{n-1}`). */
  blocks(): ResNetBlock[] {
    return this.stages().flatMap((s) => [...s] as ResNetBlock[]);
  }

  /** Pooled features [N, numFeatures] (everything before `fc`). */
  forwardFeatures(x: Tensor): Tensor {
    checkTensor('CifarResNet', x, this.inChannels);
    let h = this.relu.call(this.bn1.call(this.conv1.call(x))) as Tensor;
    for (const stage of this.stages()) h = stage.call(h) as Tensor;
    return flatten(this.avgpool.call(h), 1);
  }

  forward(x: Tensor): Tensor {
    return this.fc.call(this.forwardFeatures(x));
  }

  override extraRepr(): string {
    return `depth=${this.depth}, block=${this.blockType}, widths=[${this.widths.join(', ')}]`;
  }
}

export type CifarResNetPreset = Omit<CifarResNetOptions, 'depth' | 'block'>;

/** ResNet-20 (basic, n = 3; 0.27M parameters at width 1 with 10 classes). */
export const resnet20 = (opts: CifarResNetPreset = {}) => new CifarResNet({ ...opts, depth: 20 });
/** ResNet-32 (basic, n = 5). */
export const resnet32 = (opts: CifarResNetPreset = {}) => new CifarResNet({ ...opts, depth: 32 });
/** ResNet-56 (basic, n = 9). */
export const resnet56 = (opts: CifarResNetPreset = {}) => new CifarResNet({ ...opts, depth: 56 });
/** ResNet-110 (basic, n = 18). */
export const resnet110 = (opts: CifarResNetPreset = {}) => new CifarResNet({ ...opts, depth: 110 });
/** ResNet-164 (bottleneck, n = 18; 1.7M parameters at width 1). */
export const resnet164 = (opts: CifarResNetPreset = {}) => new CifarResNet({ ...opts, depth: 164, block: 'bottleneck' });
