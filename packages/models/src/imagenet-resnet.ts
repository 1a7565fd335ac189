/**
 * ImageNet-style ResNet (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016, table 1)
 * in torchvision's layout ("ResNet v1.5": the stride of a bottleneck sits on its 3x3 conv): a 7x7
 * stride-2 stem, 3x3 stride-2 max pooling, four stages at 64/128/256/512 planes (halving the
 * resolution at the start of stages 2-4), global average pooling and a linear classifier.
 *
 *   ResNet-18 / 34: basic blocks, [2, 2, 2, 2] / [3, 4, 6, 3]
 *   ResNet-50 / 101 / 152: bottleneck blocks, [3, 4, 6, 3] / [3, 4, 23, 3] / [3, 8, 36, 3]
 *
 * Blocks, shortcuts (1x1 conv + BN projection where the shape changes) and the attention hook are
 * those of the CIFAR ResNet in `resnet.ts`; member names follow torchvision, so the state-dict keys
 * equal `torchvision.models.resnet50().state_dict()`'s (`conv1.weight`, `layer4.2.bn3.bias`,
 * `fc.weight`, ...), plus `attention.*` inside blocks that get one (SE-ResNet, Hu et al. 2018).
 */
import { flatten, nn, OpError, type Tensor } from '@methodzoo/core';
import { addStages, type AttentionFactory, initConvs, type ResNetBlock } from './resnet.js';

export interface ImageNetResNetOptions extends nn.FactoryOptions {
  /** Blocks per stage, four entries ([3, 4, 6, 3] for ResNet-50). */
  layers: readonly [number, number, number, number];
  /** 'basic' (ResNet-18/34) or 'bottleneck' (default; ResNet-50/101/152). */
  block?: 'basic' | 'bottleneck';
  /** Input image channels (3). */
  inChannels?: number;
  /** Classifier outputs (1000). */
  numClasses?: number;
  /** Multiplies the stem width 64 and the stage widths 64/128/256/512 (1); each is rounded and at least 1. */
  width?: number;
  /** Per-block attention: `(channels, blockIndex, stageIndex)` with stageIndex 0..3; none by default. */
  attention?: AttentionFactory | null;
}

/**
 * ImageNet ResNet.
 *
 * Shape: x [N, inChannels, H, W] (224x224 for ImageNet; any size >= 32) -> logits [N, numClasses].
 *
 * Children (state-dict order): `conv1`, `bn1`, `relu`, `maxpool`, `layer1` ... `layer4`
 * (Sequentials of blocks), `avgpool`, `fc`.
 *
 * Initialisation as torchvision (`zero_init_residual=False`): convolutions kaiming_normal (fan_out,
 * relu); BN weight 1, bias 0; `fc` PyTorch's Linear default.
 *
 * Example: `resnet50().numParameters(); // 25557032 (torchvision's count)`
 */
export class ImageNetResNet extends nn.Module {
  readonly blockType: 'basic' | 'bottleneck';
  readonly layers: readonly [number, number, number, number];
  readonly inChannels: number;
  readonly numClasses: number;
  /** Stage plane counts (64, 128, 256, 512 at width 1; a bottleneck stage outputs 4x). */
  readonly widths: readonly [number, number, number, number];
  conv1: nn.Module;
  bn1: nn.Module;
  relu: nn.Module;
  maxpool: nn.Module;
  declare layer1: nn.Sequential;
  declare layer2: nn.Sequential;
  declare layer3: nn.Sequential;
  declare layer4: nn.Sequential;
  avgpool: nn.AdaptiveAvgPool2d;
  fc: nn.Linear;

  constructor(opts: ImageNetResNetOptions) {
    super();
    const kind = opts.block ?? 'bottleneck';
    if (kind !== 'basic' && kind !== 'bottleneck') throw new OpError('ImageNetResNet', `block must be 'basic' or 'bottleneck', got '${String(kind)}'`);
    const layers = opts.layers;
    if (!Array.isArray(layers) || layers.length !== 4 || !layers.every((n) => Number.isInteger(n) && n >= 1)) {
      throw new OpError('ImageNetResNet', `layers must be four positive integers, got [${String(layers)}]`);
    }
    const width = opts.width ?? 1;
    if (!(width > 0)) throw new OpError('ImageNetResNet', `width must be positive, got ${width}`);
    this.blockType = kind;
    this.layers = [...layers] as [number, number, number, number];
    this.inChannels = opts.inChannels ?? 3;
    this.numClasses = opts.numClasses ?? 1000;
    this.widths = [64, 128, 256, 512].map((w) => Math.max(1, Math.round(w * width))) as [number, number, number, number];
    const layer: nn.FactoryOptions = { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };

    const stem = this.widths[0];
    this.conv1 = new nn.Conv2d(this.inChannels, stem, 7, { ...layer, stride: 2, padding: 3, bias: false });
    this.bn1 = new nn.BatchNorm2d(stem, layer);
    this.relu = new nn.ReLU();
    this.maxpool = new nn.MaxPool2d(3, { stride: 2, padding: 1 });
    const inplanes = addStages(this, { block: kind, widths: this.widths, depths: this.layers, inplanes: stem, layer, attention: opts.attention });
    this.avgpool = new nn.AdaptiveAvgPool2d(1);
    this.fc = new nn.Linear(inplanes, this.numClasses, layer);
    initConvs(this, opts.generator);
  }

  /** Width of the features fed to `fc` (2048 for ResNet-50). */
  get numFeatures(): number {
    return this.fc.inFeatures;
  }

  /** The stages `layer1` ... `layer4`. */
  stages(): nn.Sequential[] {
    return [this.layer1, this.layer2, this.layer3, this.layer4];
  }

  /** Every residual block in forward order. */
  blocks(): ResNetBlock[] {
    return this.stages().flatMap((s) => [...s] as ResNetBlock[]);
  }

  /** Pooled features [N, numFeatures]. */
  forwardFeatures(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) throw new OpError('ImageNetResNet', `expected input [N, ${this.inChannels}, H, W], got [${x.shape.join(', ')}]`);
    let h = this.maxpool.call(this.relu.call(this.bn1.call(this.conv1.call(x)))) as Tensor;
    for (const stage of this.stages()) h = stage.call(h) as Tensor;
    return flatten(this.avgpool.call(h), 1);
  }

  forward(x: Tensor): Tensor {
    return this.fc.call(this.forwardFeatures(x));
  }

  override extraRepr(): string {
    return `block=${this.blockType}, layers=[${this.layers.join(', ')}], widths=[${this.widths.join(', ')}]`;
  }
}

export type ImageNetResNetPreset = Omit<ImageNetResNetOptions, 'layers' | 'block'>;

/** ResNet-18 (basic, [2, 2, 2, 2]; 11,689,512 parameters). */
export const resnet18 = (opts: ImageNetResNetPreset = {}) => new ImageNetResNet({ ...opts, layers: [2, 2, 2, 2], block: 'basic' });
/** ResNet-34 (basic, [3, 4, 6, 3]; 21,797,672 parameters). */
export const resnet34 = (opts: ImageNetResNetPreset = {}) => new ImageNetResNet({ ...opts, layers: [3, 4, 6, 3], block: 'basic' });
/** ResNet-50 (bottleneck, [3, 4, 6, 3]; 25,557,032 parameters). */
export const resnet50 = (opts: ImageNetResNetPreset = {}) => new ImageNetResNet({ ...opts, layers: [3, 4, 6, 3], block: 'bottleneck' });
/** ResNet-101 (bottleneck, [3, 4, 23, 3]). */
export const resnet101 = (opts: ImageNetResNetPreset = {}) => new ImageNetResNet({ ...opts, layers: [3, 4, 23, 3], block: 'bottleneck' });
/** ResNet-152 (bottleneck, [3, 8, 36, 3]). */
export const resnet152 = (opts: ImageNetResNetPreset = {}) => new ImageNetResNet({ ...opts, layers: [3, 8, 36, 3], block: 'bottleneck' });
