/**
 * The two kinds of model the Trainer takes: a tfl.LayersModel, or plain variables with a
 * forward function. These helpers hide the difference.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ModelLike, PlainModel } from './state.js';

export function isLayersModel(model: ModelLike): model is tfl.LayersModel {
  return 'trainableWeights' in model && 'apply' in model;
}

/** The model's outputs; `training` switches dropout and BatchNorm statistics (layers models). */
export function forward(model: ModelLike, x: tf.Tensor, training: boolean): tf.Tensor {
  return isLayersModel(model)
    ? (model.apply(x, { training }) as tf.Tensor)
    : (model as PlainModel).forward(x, training);
}

/** The trainable variables, in the order ParamVector.create lays them out. */
export function trainableVariables(model: ModelLike): tf.Variable[] {
  return isLayersModel(model)
    ? model.trainableWeights.map((w) => w.read() as tf.Variable)
    : [...model.variables];
}
