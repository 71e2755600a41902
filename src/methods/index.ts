/**
 * Training methods that plug into the Trainer (src/train), each with a functional twin usable
 * without it. One folder per method, with a README method card.
 */
export {
  EarlyStopping,
  earlyStopping,
  advanceStopping,
  isImprovement,
  shouldStop,
  type EarlyStoppingOptions,
  type StoppingMode,
  type StoppingProgress,
  type StoppingRule,
} from './early-stopping/index.js';
export {
  NanGuard,
  nanGuard,
  findNonFiniteSegments,
  isDivergence,
  type NanGuardOptions,
  type NanPolicy,
  type NonFiniteSegment,
} from './nan-guard/index.js';
export * from './label-smoothing/index.js';
export * from './softmax-temperature/index.js';
export * from './focal-loss/index.js';
export * from './mixup/index.js';
export * from './cutmix/index.js';
export * from './batch-augmentation/index.js';
export * from './cyclical-augmentation/index.js';
export * from './blurpool/index.js';
export * from './cyclical-weight-decay/index.js';
export * from './cyclical-batch-size/index.js';
export * from './cyclical-grad-clip/index.js';
export * from './bag-of-tricks/index.js';
export * from './adversarial/index.js';
export * from './noilin/index.js';
export * from './alasca/index.js';
export * from './gradual-pruning/index.js';
export * from './shrink-perturb/index.js';
export * from './reinit/index.js';
export { replaceBatchTensors } from './batch.js';
export { METHODS, createMethod, methodNames, type MethodEntry } from './registry.js';
