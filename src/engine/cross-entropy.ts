/**
 * Mean softmax cross-entropy on anneal's own backends: tf.losses.softmaxCrossEntropy runs
 * logSumExp and the loss op by op, about 37 kernel calls forward and backward; with fast
 * gradients on (useFastGradients), anneal's backends compute each row's loss in one native kernel
 * (CROSS_ENTROPY, the same float steps as tfjs's ops) and its gradient in one
 * (CROSS_ENTROPY_GRAD, tfjs's formula), and the mean as tfjs's computeWeightedLoss takes it.
 * Elsewhere it is tfjs's own.
 */
import * as tf from '@tensorflow/tfjs-core';
import { CROSS_ENTROPY, CROSS_ENTROPY_GRAD } from '../backend/index.js';
import { fastGradientsEnabled } from './gradients.js';

/**
 * The kernel's gradient, tfjs's (softmaxCrossEntropyWithLogits'): dy (softmax - labels) for the
 * logits and its negation for the labels.
 */
tf.registerGradient({
  kernelName: CROSS_ENTROPY,
  inputsToSave: ['labels', 'logits'],
  gradFunc: (dy, saved) => {
    const [labels, logits] = saved;
    const dlogits = () =>
      tf
        .engine()
        .runKernel(CROSS_ENTROPY_GRAD, { logits, labels, dy: dy as tf.Tensor }) as tf.Tensor;
    return { logits: dlogits, labels: () => tf.neg(dlogits()) };
  },
});

/** Mean softmax cross-entropy of logits [..., classes] against labels (one-hot or soft). */
export function softmaxCrossEntropy(labels: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  if (
    !fastGradientsEnabled() ||
    logits.dtype !== 'float32' ||
    logits.rank < 1 ||
    tf.getKernel(CROSS_ENTROPY, tf.getBackend()) === undefined
  ) {
    return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  }
  return tf.tidy(() => {
    const rowLosses = tf
      .engine()
      .runKernel(CROSS_ENTROPY, { labels: tf.cast(labels, 'float32'), logits }) as tf.Tensor;
    // tfjs's computeWeightedLoss without weights divides the sum by the count: the mean, in one
    // kernel and no scalar to upload (its value may differ in the last bit).
    return tf.mean(rowLosses);
  });
}
