/**
 * Builds a model from a `{ kind, options }` row of test/fixtures/models.json (written by
 * tools/golden/models_golden.py), the same options the PyTorch twin was built with.
 */
import type { nn } from '@methodzoo/core';
import { CifarResNet, GPT, MLP, SEBlock, TransformerBlock, UNet, UViT } from '../../src/index.js';

export type ModelKind = 'resnet' | 'mlp' | 'unet' | 'uvit' | 'block' | 'gpt';

export function buildModel(kind: ModelKind, options: Record<string, unknown>): nn.Module {
  const o = options as any;
  switch (kind) {
    case 'resnet':
      return new CifarResNet({ ...o, attention: o.attention === 'se' ? (c: number) => new SEBlock(c) : null });
    case 'mlp': {
      const { sizes, ...rest } = o;
      return new MLP(sizes, rest);
    }
    case 'unet':
      return new UNet(o);
    case 'uvit':
      return new UViT(o);
    case 'block': {
      const { dim, ...rest } = o;
      return new TransformerBlock(dim, rest);
    }
    case 'gpt':
      return new GPT(o);
  }
}
