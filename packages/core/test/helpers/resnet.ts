/**
 * A small CIFAR-style ResNet (He et al., 2016) for the golden tests, with torchvision's member names
 * so its state-dict keys equal those of the PyTorch twin in tools/golden/nn_golden.py
 * (`layer2.0.downsample.0.weight`, ...). Test-local: the shared model zoo package will hold the real one.
 */
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, Module, ReLU, Sequential } from '../../src/nn/index.js';
import { flatten } from '../../src/ops/composite.js';
import { add } from '../../src/ops/basic.js';
import type { Tensor } from '../../src/tensor.js';

/** torchvision's BasicBlock: conv3x3-BN-ReLU-conv3x3-BN plus a shortcut, then ReLU. */
export class BasicBlock extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  relu = new ReLU();
  conv2: Conv2d;
  bn2: BatchNorm2d;
  /** 1x1 conv + BN when the block changes resolution or width, else the identity (null, as torchvision's None). */
  downsample: Sequential | null;

  constructor(inplanes: number, planes: number, stride = 1) {
    super();
    this.conv1 = new Conv2d(inplanes, planes, 3, { stride, padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(planes);
    this.conv2 = new Conv2d(planes, planes, 3, { padding: 1, bias: false });
    this.bn2 = new BatchNorm2d(planes);
    this.downsample =
      stride !== 1 || inplanes !== planes ? new Sequential(new Conv2d(inplanes, planes, 1, { stride, bias: false }), new BatchNorm2d(planes)) : null;
  }

  forward(x: Tensor): Tensor {
    const identity = this.downsample ? this.downsample.call(x) : x;
    const out = this.bn2.call(this.conv2.call(this.relu.call(this.bn1.call(this.conv1.call(x)))));
    return this.relu.call(add(out, identity));
  }
}

export interface ResNetConfig {
  /** Channels of each stage (the stem has widths[0]). */
  widths: readonly number[];
  /** BasicBlocks per stage; the first block of every stage after the first has stride 2. */
  blocks: readonly number[];
  numClasses: number;
}

/** Stem conv3x3 + BN + ReLU, stages `layer1..layerK`, global average pool, `fc`. */
export class ResNet extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  relu = new ReLU();
  readonly stages: Sequential[] = [];
  avgpool: AdaptiveAvgPool2d;
  fc: Linear;

  constructor(cfg: ResNetConfig) {
    super();
    const w0 = cfg.widths[0]!;
    this.conv1 = new Conv2d(3, w0, 3, { padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(w0);
    let inplanes = w0;
    cfg.widths.forEach((w, i) => {
      const blocks: BasicBlock[] = [];
      for (let j = 0; j < cfg.blocks[i]!; j++) {
        blocks.push(new BasicBlock(inplanes, w, j === 0 && i > 0 ? 2 : 1));
        inplanes = w;
      }
      const stage = new Sequential(...blocks);
      this.registerModule(`layer${i + 1}`, stage);
      this.stages.push(stage);
    });
    // Assigned after the stages so members keep torchvision's order.
    this.avgpool = new AdaptiveAvgPool2d(1);
    this.fc = new Linear(inplanes, cfg.numClasses);
  }

  forward(x: Tensor): Tensor {
    let h = this.relu.call(this.bn1.call(this.conv1.call(x)));
    for (const stage of this.stages) h = stage.call(h);
    return this.fc.call(flatten(this.avgpool.call(h), 1));
  }
}
