/**
 * Batch norm in training on anneal's own backends (anneal-cpu, anneal-cuda): tfjs-layers'
 * BatchNormalization computes tf.moments (Mean, Sub, Square, Mean) and tf.batchNorm, and tfjs
 * differentiates each of those ops, about 40 kernels a layer and step, most of them passes over
 * the activations (a ResNet-8 step at batch 8: 883 native kernel calls). With fast gradients on
 * (useFastGradients), a layer in training whose axis is the last one runs BATCH_NORM_TRAINING
 * instead (moments + FusedBatchNorm: 3 kernels, and the moving averages' updates as tfjs-layers
 * computes them: 6 kernels and 2 scalar uploads a layer fewer) and for its gradient
 * BATCH_NORM_TRAINING_GRAD (one kernel: the closed form, through the batch statistics). Every
 * other case (inference, another axis, no scale or no centre, another backend) is tfjs-layers'
 * own call.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from '../backend/index.js';
import { callPatch, fusedNormalize, onlyInput } from './fused-norm.js';

/**
 * The fused kernel's gradient: dx (through the batch's mean and variance, and through those
 * outputs' own gradients, where the loss uses them), dscale and doffset, in one kernel.
 */
tf.registerGradient({
  kernelName: BATCH_NORM_TRAINING,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, true, true],
  gradFunc: (dys, saved, attrs) => {
    const [dy, dmean, dvariance] = dys as tf.Tensor[];
    const [x, scale, mean, variance] = saved;
    const [dx, dscale, doffset] = tf
      .engine()
      .runKernel(
        BATCH_NORM_TRAINING_GRAD,
        { dy, x, mean, variance, scale, dmean, dvariance },
        attrs,
      ) as tf.Tensor[];
    // The moving averages' updates go to the layer's variables, never into a loss.
    const none = () => tf.zerosLike(mean);
    return {
      x: () => dx,
      scale: () => dscale,
      offset: () => doffset,
      movingMean: none,
      movingVariance: none,
    };
  },
});

/** What the patched call reads of a tfjs-layers BatchNormalization layer. */
interface BatchNormLayer {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tfl.LayerVariable;
  beta: tfl.LayerVariable;
  movingMean: tfl.LayerVariable;
  movingVariance: tfl.LayerVariable;
}

/** Runs BatchNormalization layers in training on the fused kernels (true) or as tfjs does. */
export const useFusedBatchNorm = callPatch<BatchNormLayer>(
  tfl.layers.batchNormalization({}),
  (stock) =>
    function (inputs, kwargs) {
      const x = onlyInput(inputs);
      const training = (kwargs?.training as boolean | undefined) ?? false;
      if (
        !training ||
        x === null ||
        !this.center ||
        !this.scale ||
        x.dtype !== 'float32' ||
        x.rank < 2 ||
        (this.axis >= 0 ? this.axis : this.axis + x.rank) !== x.rank - 1 ||
        tf.getKernel(BATCH_NORM_TRAINING, tf.getBackend()) === undefined
      ) {
        return stock.call(this, inputs, kwargs);
      }
      // The forward kernel also takes tfjs-layers' moving-average steps,
      // v - (v - batch value)(1 - m), as its float operations in their order.
      const { y, others } = fusedNormalize(
        { forward: BATCH_NORM_TRAINING, backward: BATCH_NORM_TRAINING_GRAD },
        [x, this.gamma.read(), this.beta.read()],
        { movingMean: this.movingMean.read(), movingVariance: this.movingVariance.read() },
        { varianceEpsilon: this.epsilon, momentum: this.momentum },
      );
      this.movingMean.write(others[0]);
      this.movingVariance.write(others[1]);
      tf.dispose(others);
      return y;
    },
);
