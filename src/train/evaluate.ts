/** Evaluation of a model over a whole data set, in batches. */
import * as tf from '@tensorflow/tfjs-core';
import { DataLoader, type Dataset } from '../data/index.js';
import { batchTensors, crossEntropy, top1Hits } from './loss.js';
import { forward } from './model.js';
import type { LossFn, ModelLike } from './state.js';

export interface Evaluation {
  /** Mean loss per sample. */
  loss: number;
  /** Top-1 accuracy. */
  accuracy: number;
  count: number;
}

export interface EvaluateOptions {
  /** Default 500. */
  batchSize?: number;
  /** Default softmax cross-entropy. */
  lossFn?: LossFn;
}

/** Mean loss and top-1 accuracy over `data`, in data set order, in inference mode. */
export async function evaluate(
  model: ModelLike,
  data: Dataset,
  opts: EvaluateOptions = {},
): Promise<Evaluation> {
  const lossFn = opts.lossFn ?? crossEntropy;
  const loader = new DataLoader(data, { batchSize: opts.batchSize ?? 500, shuffle: false });
  let lossSum = 0;
  let correct = 0;
  for (const batch of loader.batches(0)) {
    const [loss, hits] = tf.tidy(() => {
      const { x, y } = batchTensors(batch, data.numClasses);
      const logits = forward(model, x, false);
      return [tf.mul(lossFn(y, logits), batch.size), top1Hits(y, logits)];
    });
    const [lv, hv] = await Promise.all([loss.data(), hits.data()]);
    tf.dispose([loss, hits]);
    lossSum += lv[0];
    correct += hv[0];
  }
  return { loss: lossSum / data.length, accuracy: correct / data.length, count: data.length };
}
