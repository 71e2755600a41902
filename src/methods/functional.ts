/**
 * `anneal/functional`: every training method's plain-function twin, usable without the Trainer
 * (Composer's `composer.functional`). Each takes values and returns values; the Trainer methods
 * in this folder and in src/averaging and src/methods/gradual-pruning call the same functions.
 */
export { pgdAttack, fgsmAttack, robustEvaluate } from './adversarial/index.js';
export {
  adaptiveSmoothTargets,
  adaptiveSmoothingLoss,
  alascaAlpha,
  alascaLoss,
  addAuxHeads,
  stripAuxHeads,
} from './alasca/index.js';
export { bagOfTricksLrSpec } from './bag-of-tricks/index.js';
export { batchAugment } from './batch-augmentation/index.js';
export { applyBlurPool, modelCost } from './blurpool/index.js';
export { cutmixBatch, cutmixBox } from './cutmix/index.js';
export { cyclicalAugmentationAt } from './cyclical-augmentation/index.js';
export { cyclicalBatchSizeAt } from './cyclical-batch-size/index.js';
export { clipByGlobalNorm, cyclicalGradClipAt } from './cyclical-grad-clip/index.js';
export { cyclicalWeightDecayAt } from './cyclical-weight-decay/index.js';
export { advanceStopping, isImprovement, shouldStop } from './early-stopping/index.js';
export { cyclicalFocalLossValue, cyclicalFocalXi, focalLossValue } from './focal-loss/index.js';
export { gradualSparsityAt } from './gradual-pruning/index.js';
export { smoothLabels } from './label-smoothing/index.js';
export { drawMixup, mixupBatch } from './mixup/index.js';
export { findNonFiniteSegments } from './nan-guard/index.js';
export { advanceNoiseRate, initialNoiseRate, injectNoisyLabels } from './noilin/index.js';
export { freshValues, paramLayers, reinitializeLayers } from './reinit/index.js';
export { shrinkPerturb } from './shrink-perturb/index.js';
export { temperedLogits } from './softmax-temperature/index.js';
export {
  averageWeights,
  emaDecayFromHalfLife,
  emaWeights,
  fgeSchedule,
} from '../averaging/index.js';
