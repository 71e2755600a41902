/** Single-run tradeoff curves, their multi-run check, recipe comparison and Pareto frontiers. */
export {
  curveLrSpec,
  lrTrace,
  planCurve,
  recipeBaseLr,
  recipeTimeline,
  runMultiCurve,
  runSingleCurve,
  warmUp,
  type CurveContext,
  type CurvePlan,
  type CurvePoint,
  type CurveSettings,
} from './curve.js';
export {
  compareRecipes,
  comparisonSteps,
  pointsCsv,
  type CompareContext,
  type CompareOptions,
  type CompareRun,
  type CurveResult,
} from './compare.js';
export {
  compareAtEqualCost,
  interpolate,
  paretoFrontier,
  type CurveXY,
  type EqualCostComparison,
} from './pareto.js';
export {
  CurveRunRequestSchema,
  CurveRunResultSchema,
  curveRunId,
  curveRunSteps,
  curveWorkerEntry,
  datasetFingerprint,
  parseCurveRunRequest,
  runCurveRun,
  type CurveRunRequest,
  type CurveRunResult,
} from './run.js';
export { applyRecipeName, BASELINE, checkMultiRun, parseRecipeList } from './recipes.js';
export {
  curveRows,
  isDivergedPoint,
  summarizeCurves,
  type CostComparison,
  type CurveRow,
  type CurveSummary,
  type SingleVsMultiRow,
} from './summary.js';
