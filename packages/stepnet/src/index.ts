/**
 * @methodzoo/stepnet: self-attention as a stiffness-aware step-size adaptor of residual networks,
 * and the Neural Stiffness Index ("Understanding Self-attention Mechanism via Dynamical System
 * Perspective", Huang et al., ICCV 2023, arXiv 2308.09939). The paper's own StepNet module is not
 * public: `'r1'` and `'r2'` are reconstructions, named as such (see the README).
 */
export { ADAPTOR_KINDS, MEMORY_FEATURES, poolChannels, scaleResidual, StepSizeAdaptor, type AdaptorKind, type StepSizeAdaptorOptions } from './adaptor.js';
export {
  ResidualStep,
  sampleNorm,
  STIFFNESS_EPS,
  stepMemory,
  type Activation,
  type AdaptorOption,
  type BlockKind,
  type ResidualStepOptions,
  type StepListener,
  type StepOutput,
  type StepRecord,
} from './blocks.js';
export { checkConnectionScheme, StepMLP, StepNetwork, StepResNet, type StepMLPOptions, type StepNetworkOptions, type StepResNetOptions } from './networks.js';
export {
  attentionNsiCorrelation,
  neuralStiffnessIndex,
  nsiFigure,
  nsiSummary,
  proposeConnectionScheme,
  rankBlocksBySpread,
  recordTrajectory,
  spearman,
  stiffnessIndex,
  type AttentionCorrelation,
  type BlockNsi,
  type BlockRank,
  type BlockSummary,
  type NsiKind,
  type NsiOptions,
  type NsiResult,
  type RecordOptions,
  type Trajectory,
  type TrajectoryStep,
} from './stiffness.js';
export { repro } from './repro.js';
