/**
 * Runs: recipes (a whole training run as one JSON or YAML document) and run directories (what
 * one run wrote), and a run's trained model loaded back from its directory or a checkpoint.
 * Sits above the methods, averaging, pruning and flatness areas, which a recipe names.
 */
export {
  RECIPE_DEFAULTS,
  RecipeSchema,
  loadRecipe,
  loadRecipeInputs,
  parseRecipe,
  readRecipeFile,
  recipeMethods,
  recipeModel,
  recipeTrainerOptions,
  getField,
  setField,
  type Recipe,
  type RecipeInput,
  type RecipeInputs,
  type RecipeSource,
} from './recipe.js';
export {
  openRunDir,
  readRunMarker,
  runDirPaths,
  writeJsonAtomic,
  RUN_MARKER,
  type OpenRunDirOptions,
  type RunCommand,
  type RunDir,
  type RunMarker,
} from './run-dir.js';
export { loadRunModel, loadWeightsInto, type RunModel } from './run-model.js';
export {
  TaskInterrupted,
  WorkerPool,
  isTaskInterrupted,
  serveTasks,
  workerModule,
  type Executor,
  type ExecutorStatus,
  type FromWorker,
  type TaskContext,
  type TaskOptions,
  type TaskProgress,
  type ToWorker,
} from './executor.js';
