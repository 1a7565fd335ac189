/**
 * @methodzoo/diffusion: the DDPM training and sampling stack shared by the methodzoo diffusion
 * methods (ScaleLong, SUR-adapter, AnimateZoo).
 */
export { scheduleFromBetas, linearSchedule, cosineSchedule, coefficient, qSample, checkTimesteps, type NoiseSchedule } from './schedule.js';
export { epsilonLoss, sampleTimesteps, type EpsModel, type EpsilonLossOptions } from './loss.js';
export { predictX0, ddpmStep, ddimStep, ddimTimesteps, sample, type DDPMStepOptions, type DDIMStepOptions, type SampleOptions } from './samplers.js';
export { EMA, type EMAOptions } from './ema.js';
export { guidedEpsilon, dropLabels, classifierFreeGuidance } from './guidance.js';
