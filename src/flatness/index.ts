/**
 * Flatness: sharpness measures, local entropy, loss-landscape slices and planes, mode
 * connectivity, Replicated-SGD; all on flat weight vectors. See README.md.
 */
export {
  ModelObjective,
  functionObjective,
  modelObjective,
  type MiniBatch,
  type ModelObjectiveOptions,
  type Objective,
  type ShapedSegment,
} from './objective.js';
export { normalizeFilters, randomDirection, type DirectionOptions } from './directions.js';
export {
  epsilonSharpness,
  hessianTopEigenvalue,
  perturbationSharpness,
  type EpsilonSharpness,
  type EpsilonSharpnessOptions,
  type HessianOptions,
  type HessianTop,
  type PerturbationOptions,
  type PerturbationSharpness,
} from './sharpness.js';
export { localEntropy, type LocalEntropy, type LocalEntropyOptions } from './local-entropy.js';
export {
  lineSlice,
  plane2d,
  planeBasis,
  randomSlice,
  slice1d,
  type Plane,
  type PlaneBasis,
  type Slice,
  type SliceOptions,
} from './landscape.js';
export { evaluateBezier, trainBezierCurve, type BezierOptions } from './connectivity.js';
export {
  replicatedSgd,
  type ReplicatedSgdOptions,
  type ReplicatedSgdResult,
} from './replicated.js';
export {
  FLATNESS_MEASURES,
  measureFlatness,
  parseMeasures,
  type FlatnessMeasure,
  type MeasureOptions,
  type MeasureRow,
} from './measures.js';
export { kendallTau } from './kendall.js';
