/**
 * @methodzoo/datasets: MNIST and Fashion-MNIST as tensors with a fixed split, seeded batch
 * augmentation, and seeded synthetic data (ODE trajectories, user-item interactions with item features).
 */
export {
  loadMnist,
  loadFashionMnist,
  clearImageMemo,
  MNIST_CLASSES,
  FASHION_MNIST_CLASSES,
  TRAIN_FRACTION,
  IMAGE_SIZE,
  PIXELS,
  type ImageLoadOptions,
  type ImageDataset,
  type ImageSplit,
} from './images.js';
export { randomCrop, randomHorizontalFlip, normalize, type RandomCropOptions, type RandomFlipOptions } from './augment.js';
export {
  rk4,
  odeTrajectories,
  odeSystem,
  lorenz,
  vanDerPol,
  dampedOscillator,
  oscillatorEnergy,
  type OdeSystem,
  type OdeFunction,
  type BatchedOdeFunction,
  type IntegrateOptions,
  type TrajectoryOptions,
  type Trajectories,
} from './ode.js';
export { generateInteractions, type InteractionOptions, type InteractionData, type InteractionSplit } from './interactions.js';
