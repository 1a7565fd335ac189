/**
 * @methodzoo/models: backbones shared by the methodzoo method packages, with PyTorch state-dict
 * names so weights move between the two by name.
 */
export { SEBlock, type SEBlockOptions } from './se.js';
export {
  BasicBlock,
  Bottleneck,
  CifarResNet,
  resnet20,
  resnet32,
  resnet56,
  resnet110,
  resnet164,
  type AttentionFactory,
  type BlockOptions,
  type CifarResNetOptions,
  type CifarResNetPreset,
  type ResNetBlock,
} from './resnet.js';
export { ImageNetResNet, resnet18, resnet34, resnet50, resnet101, resnet152, type ImageNetResNetOptions, type ImageNetResNetPreset } from './imagenet-resnet.js';
export { MLP, type MLPActivation, type MLPNorm, type MLPOptions } from './mlp.js';
export { timestepEmbedding, timestepTensor, type Timesteps } from './timestep.js';
export { AttentionBlock, Downsample, ResBlock, TimestepEmbedSequential, UNet, Upsample, type UNetOptions } from './unet.js';
export { PatchEmbed, UViT, UViTBlock, ViTAttention, ViTMlp, type UViTOptions } from './uvit.js';
export { FeedForward, MoEFeedForward, type MoEOptions, type MoERouting } from './moe.js';
export { GPT, TransformerBlock, type GPTOptions, type TransformerBlockOptions, type TransformerMoEOptions } from './transformer.js';
