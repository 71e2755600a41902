/** The gradient the gradient-magnitude criteria score with: summed over a few training batches. */
import * as tf from '@tensorflow/tfjs-core';
import { DataLoader, type Dataset } from '../data/index.js';
import { batchTensors, crossEntropy } from '../train/loss.js';
import { forward, trainableVariables } from '../train/model.js';
import type { LossFn, ModelLike } from '../train/state.js';

export interface GradientOptions {
  /** Batches summed (default 4). */
  batches?: number;
  /** Default 64. */
  batchSize?: number;
  /** Seeds which batches (default 0). */
  seed?: number;
  lossFn?: LossFn;
}

/**
 * The gradient of the training loss summed over `batches` batches, flat in the order of the
 * model's trainable weights (the ParamVector's order), in training mode as the step that follows.
 */
export async function accumulateGradient(
  model: ModelLike,
  data: Dataset,
  opts: GradientOptions = {},
): Promise<Float32Array> {
  const variables = trainableVariables(model);
  const sizes = variables.map((v) => v.size);
  const total = new Float32Array(sizes.reduce((a, b) => a + b, 0));
  const loader = new DataLoader(data, { batchSize: opts.batchSize ?? 64, seed: opts.seed ?? 0 });
  const lossFn = opts.lossFn ?? crossEntropy;
  let left = opts.batches ?? 4;
  for (let epoch = 0; left > 0; epoch++) {
    for (const batch of loader.batches(epoch)) {
      if (left-- <= 0) break;
      const { x, y } = batchTensors(batch, data.numClasses);
      const { value, grads } = tf.variableGrads(
        () => lossFn(y, forward(model, x, true)),
        variables,
      );
      let offset = 0;
      for (const v of variables) {
        const g = grads[v.name];
        if (g) {
          const values = g.dataSync();
          for (let i = 0; i < values.length; i++) total[offset + i] += values[i];
        }
        offset += v.size;
      }
      tf.dispose([x, y, value, ...Object.values(grads)]);
    }
  }
  return total;
}
