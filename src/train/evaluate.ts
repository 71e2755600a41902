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

/** Each batch's summed loss and correct count (tensors the caller reads and disposes). */
function* batchResults(
  model: ModelLike,
  data: Dataset,
  opts: EvaluateOptions,
): Generator<[tf.Tensor, tf.Tensor]> {
  const lossFn = opts.lossFn ?? crossEntropy;
  const loader = new DataLoader(data, { batchSize: opts.batchSize ?? 500, shuffle: false });
  for (const batch of loader.batches(0)) {
    yield tf.tidy(() => {
      const { x, y } = batchTensors(batch, data.numClasses);
      const logits = forward(model, x, false);
      return [tf.mul(lossFn(y, logits), batch.size), top1Hits(y, logits)] as [tf.Tensor, tf.Tensor];
    });
  }
}

/** Mean loss and top-1 accuracy over `data`, in data set order, in inference mode. */
export async function evaluate(
  model: ModelLike,
  data: Dataset,
  opts: EvaluateOptions = {},
): Promise<Evaluation> {
  let lossSum = 0;
  let correct = 0;
  for (const [loss, hits] of batchResults(model, data, opts)) {
    const [lv, hv] = await Promise.all([loss.data(), hits.data()]);
    tf.dispose([loss, hits]);
    lossSum += lv[0];
    correct += hv[0];
  }
  return { loss: lossSum / data.length, accuracy: correct / data.length, count: data.length };
}

/**
 * The same, read with dataSync: for methods, whose apply() is synchronous (some run inside the
 * gradient tape).
 */
export function evaluateSync(
  model: ModelLike,
  data: Dataset,
  opts: EvaluateOptions = {},
): Evaluation {
  let lossSum = 0;
  let correct = 0;
  for (const [loss, hits] of batchResults(model, data, opts)) {
    lossSum += loss.dataSync()[0];
    correct += hits.dataSync()[0];
    tf.dispose([loss, hits]);
  }
  return { loss: lossSum / data.length, accuracy: correct / data.length, count: data.length };
}
