/** Evaluation of a model over a whole data set, in batches. */
import * as tf from '@tensorflow/tfjs-core';
import { DataLoader, type Dataset } from '../data/index.js';
import { batchTensors, crossEntropy, top1Hits } from './loss.js';
import { forward } from './model.js';
import { scalarsSideBySide } from './running-metrics.js';
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

/**
 * Each batch's summed loss and correct count, side by side in one tensor (loss, hits, loss, ...)
 * for one read: read per batch, an evaluation would wait for the backend twice a batch.
 */
function batchResults(model: ModelLike, data: Dataset, opts: EvaluateOptions): tf.Tensor1D | null {
  const lossFn = opts.lossFn ?? crossEntropy;
  const loader = new DataLoader(data, { batchSize: opts.batchSize ?? 500, shuffle: false });
  const parts: tf.Tensor[] = [];
  try {
    for (const batch of loader.batches(0)) {
      parts.push(
        ...tf.tidy(() => {
          const { x, y } = batchTensors(batch, data.numClasses);
          const logits = forward(model, x, false);
          return [tf.mul(lossFn(y, logits), batch.size), top1Hits(y, logits)];
        }),
      );
    }
    return parts.length > 0 ? scalarsSideBySide(parts) : null;
  } finally {
    tf.dispose(parts);
  }
}

/** The evaluation from the batches' values, summed in data set order. */
function summed(values: ArrayLike<number>, count: number): Evaluation {
  let lossSum = 0;
  let correct = 0;
  for (let i = 0; i < values.length; i += 2) {
    lossSum += values[i];
    correct += values[i + 1];
  }
  return { loss: lossSum / count, accuracy: correct / count, count };
}

/** Mean loss and top-1 accuracy over `data`, in data set order, in inference mode. */
export async function evaluate(
  model: ModelLike,
  data: Dataset,
  opts: EvaluateOptions = {},
): Promise<Evaluation> {
  const results = batchResults(model, data, opts);
  try {
    return summed(results ? await results.data() : [], data.length);
  } finally {
    results?.dispose();
  }
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
  const results = batchResults(model, data, opts);
  try {
    return summed(results ? results.dataSync() : [], data.length);
  } finally {
    results?.dispose();
  }
}
