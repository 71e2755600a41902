/** Losses and metrics on logits, and a loader batch as tensors. */
import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '../data/index.js';
import { softmaxCrossEntropy } from '../engine/cross-entropy.js';

/**
 * Mean softmax cross-entropy of logits against (one-hot or soft) labels: tfjs's, on two native
 * kernels on anneal's backends (src/engine/cross-entropy.ts).
 */
export function crossEntropy(labels: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  return softmaxCrossEntropy(labels, logits);
}

/** Number of rows whose largest logit is at the largest label (top-1 hits), as a scalar. */
export function top1Hits(labels: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  return tf.tidy(() =>
    tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), tf.argMax(labels, -1)), 'float32')),
  );
}

/** Inputs (NHWC images, or [N, features] rows) and one-hot labels of a loader batch. */
export function batchTensors(batch: Batch, numClasses: number): { x: tf.Tensor; y: tf.Tensor2D } {
  return tf.tidy(() => ({
    x: tf.tensor(batch.images, [batch.size, ...batch.shape]),
    y: tf.oneHot(tf.tensor1d(batch.labels, 'int32'), numClasses) as tf.Tensor2D,
  }));
}
