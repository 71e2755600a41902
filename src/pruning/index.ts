/**
 * Pruning on the ParamVector: criteria and masks (criteria.ts), masks in force with optimizer
 * state (apply.ts), sparsity and retraining schedules (schedule.ts), one-shot pruning and IMP
 * (imp.ts), ShrinkBench metrics (metrics.ts) and pruned-model files (export.ts). Gradual pruning
 * during training is the Trainer method `gradual-pruning` (src/methods/gradual-pruning).
 * See README.md.
 */
export {
  PRUNING_CRITERIA,
  computeMask,
  prunableSegments,
  prunedCount,
  maskSparsity,
  checkCriterion,
  checkSparsity,
  type PruningCriterion,
  type PrunableOptions,
  type MaskOptions,
} from './criteria.js';
export { installMask, maskOptimizerState } from './apply.js';
export {
  RETRAIN_SCHEDULES,
  cycleSparsities,
  splitBudget,
  gradualSparsity,
  retrainSchedule,
  originalRange,
  allrInitial,
  type RetrainSchedule,
  type RetrainContext,
  type GradualSparsityOptions,
} from './schedule.js';
export { accumulateGradient, type GradientOptions } from './gradient.js';
export {
  pruningMetrics,
  evaluateTopK,
  csrBytes,
  type PruningMetrics,
  type LayerStats,
  type TopKEvaluation,
} from './metrics.js';
export { savePrunedModel, loadPrunedModel, type PrunedModelFile } from './export.js';
export { prune, type PruneOptions, type PruneResult, type CycleResult } from './imp.js';
