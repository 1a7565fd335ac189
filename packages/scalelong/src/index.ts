/**
 * @methodzoo/scalelong: ScaleLong (Huang, Zhou, Yan, Lin, NeurIPS 2023, arXiv 2310.13545):
 * scaling the long skip connections of UNet / UViT diffusion backbones (org, 1/sqrt2-CS, CS, LS),
 * with the paper's stability diagnostics.
 */
export {
  org, sqrt2, cs, ls, strategyName, csCoefficients, skipCoefficients, sumSquaredCoefficients, TokenGate, ChannelGate, applyScaleLong,
  type ScaleLongStrategy, type SkipFusingModel, type GateLayout, type ScaleLongHandle,
} from './skip-scaling.js';
export {
  namedBlocks, meanSampleNorm, watchFeatureNorms, blockGradNorms, globalGradNorm, growth, oscillation, oscillationRange, seedSpread,
  stepsToThreshold, robustnessProbe, type FeatureNormProbe,
} from './diagnostics.js';
export {
  repro, runSetting, trainVariant, variants, buildModel, describeBackbone, loadData, heldOutMse, toUnitRange, QUICK, MEDIUM, FULL, QUICK_UVIT, MEDIUM_UVIT, FULL_UVIT, SETTINGS,
  type ScaleLongReproConfig, type ScaleLongSetting, type VariantRun,
} from './repro.js';
