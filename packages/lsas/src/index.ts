/**
 * @methodzoo/lsas: LSAS, Lightweight Sub-attention Strategy for Alleviating Attention Bias Problem
 * (Zhong et al., ICME 2023, arXiv 2305.05200): the sub-attention chain, SE / LSAS-SE blocks and
 * ResNet presets, Grad-CAM, the attention-bias metrics and a cluttered-MNIST generator with boxes.
 */
export { LSAS, LSASAttention, withLSAS, type LSASOptions, type ChannelAttention, type GateListener } from './lsas.js';
export {
  SEAttention,
  seBlock,
  lsasSEBlock,
  lsasResNet,
  lsasResNet50,
  attentionFactory,
  attentionStages,
  watchGates,
  type SEAttentionOptions,
  type LSASSEOptions,
  type LSASAttentionOptions,
  type LSASResNetOptions,
  type LSASResNet50Options,
  type AttentionKind,
  type LSASPreset,
  type GatedModule,
  type GateWatch,
} from './blocks.js';
export { gradCam, type GradCamOptions } from './gradcam.js';
export { attentionBias, biasRates, type Box, type BiasOptions, type AttentionBias, type BiasRates, type HeatMap } from './bias.js';
export { clutteredMnist, type ClutteredOptions, type ClutteredSet } from './cluttered.js';
export { repro } from './repro.js';
