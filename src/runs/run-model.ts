/**
 * A trained model back from a run: the checkpoint's weights in a model rebuilt from the run's
 * recipe (config.json, as `anneal train --resume` rebuilds it), with the recipe's data. Used by
 * `anneal soup` and `anneal flatness`. Checkpoints hold trainable weights only, so BatchNorm
 * statistics are recomputed with one pass over the training data (refreshBatchNorm).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/index.js';
import { ParamVector } from '../engine/param-vector.js';
import type { FlatOps } from '../kernels/index.js';
import { resolveCheckpointPath } from '../train/checkpoint.js';
import { readRunRecipe, runDirOfCheckpoint } from './run-dir.js';
import { loadRecipeInputs, recipeTrainerOptions, type Recipe } from './recipe.js';
import { refreshBatchNorm } from '../averaging/batch-norm.js';
import {
  checkSameArchitecture,
  readCheckpointWeights,
  segmentsOf,
  type WeightSet,
} from '../averaging/soups.js';

export interface RunModel {
  recipe: Recipe;
  model: tfl.LayersModel;
  train: Dataset;
  test: Dataset;
  weights: WeightSet;
  /** A ParamVector over the model on `ops` holding the checkpoint's weights (caller disposes). */
  pv: ParamVector;
}

/** Copies `weights` into pv and the model (same architecture required). */
export function loadWeightsInto(pv: ParamVector, weights: WeightSet | Float32Array): void {
  if (!(weights instanceof Float32Array)) {
    checkSameArchitecture({ source: 'the model', segments: segmentsOf(pv) }, weights);
  }
  pv.ops.upload(pv.params, weights instanceof Float32Array ? weights : weights.params);
  pv.writeBack();
}

/** Rebuilds the run's model and data and loads the checkpoint (file, directory or run). */
export async function loadRunModel(path: string, ops: FlatOps): Promise<RunModel> {
  const file = resolveCheckpointPath(path);
  const recipe = readRunRecipe(runDirOfCheckpoint(file));
  const weights = readCheckpointWeights(file);
  const { train, test, model: built } = await loadRecipeInputs(recipe);
  const model = recipeTrainerOptions(recipe, { train, test, model: built })
    .model as tfl.LayersModel;
  const pv = ParamVector.create(model, ops);
  try {
    loadWeightsInto(pv, weights);
  } catch (e) {
    pv.dispose();
    throw e;
  }
  refreshBatchNorm(model, train);
  return { recipe, model, train, test, weights, pv };
}
