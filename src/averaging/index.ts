/**
 * Weight averaging on the flat kernels: SWA (with SWALR and the BatchNorm refresh), EMA, FGE,
 * model soups, and evaluation of weights other than the live ones. See README.md.
 */
export {
  batchNormLayers,
  refreshBatchNorm,
  restoreBatchNormStats,
  saveBatchNormStats,
  type BatchNormStats,
  type RefreshOptions,
} from './batch-norm.js';
export {
  evaluateEnsemble,
  predictProbabilities,
  probabilityMetrics,
  withWeights,
  type EnsembleEvaluation,
  type EnsembleMember,
  type WithWeightsOptions,
} from './evaluate.js';
export { Swa, swa, averageWeights, type SwaOptions } from './swa.js';
export { Ema, ema, emaWeights, emaDecayFromHalfLife, type EmaOptions } from './ema.js';
export { Fge, fge, fgeSchedule, type FgeOptions } from './fge.js';
export {
  checkSameArchitecture,
  greedySoup,
  readCheckpointWeights,
  segmentsOf,
  uniformSoup,
  weightedAverage,
  type GreedySoupResult,
  type WeightSegment,
  type WeightSet,
} from './soups.js';
