/**
 * @methodzoo/asr: Attention-alike Structural Re-parameterization (Huang, Zhong et al., "Stripe
 * Observation Guided Inference Cost-Free Attention Mechanism", ECCV 2024, arXiv:2304.06345).
 */
export { ASRNorm, type ASRNormOptions } from './asr-norm.js';
export { SEGate, ECAGate, ecaKernelSize, GATES, resolveGate, type GateFactory, type SEGateOptions, type ECAGateOptions } from './gates.js';
export {
  asrify,
  reparameterize,
  toTrain,
  isReparameterized,
  asrLayers,
  lastBnOfBlock,
  type AsrifyOptions,
  type AsrWhere,
  type ReparameterizeOptions,
} from './reparam.js';
export { stripeStats, spreadStats, type StripeLayerStats, type StripeStatsOptions, type SpreadStats } from './stripes.js';

export { repro, buildVariant, VARIANTS, type Variant, type VariantRun } from './repro.js';
