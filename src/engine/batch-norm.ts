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

type Call = (
  this: BatchNormLayer,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: Record<string, unknown>,
) => tf.Tensor;

const layerClass = tfl.layers.batchNormalization({}).constructor as unknown as {
  prototype: { call: Call };
};
const stockCall: Call = layerClass.prototype.call;

const fusedCall: Call = function (this, inputs, kwargs) {
  const x = Array.isArray(inputs) ? inputs[0] : inputs;
  const training = (kwargs?.training as boolean | undefined) ?? false;
  const axis = this.axis >= 0 ? this.axis : this.axis + x.rank;
  if (
    !training ||
    (Array.isArray(inputs) && inputs.length !== 1) ||
    !this.center ||
    !this.scale ||
    x.dtype !== 'float32' ||
    x.rank < 2 ||
    axis !== x.rank - 1 ||
    tf.getKernel(BATCH_NORM_TRAINING, tf.getBackend()) === undefined
  ) {
    return stockCall.call(this, inputs, kwargs);
  }
  // A custom gradient around the kernel rather than the kernel's own: the tape then holds one
  // output, y. Its other outputs (statistics, moving averages) would each get a dy of zeros
  // made on the host when the gradient runs: 4 uploads a layer and step on the CUDA device.
  const updates: tf.Tensor[] = [];
  const normalize = tf.customGrad((...args: unknown[]) => {
    const [xs, scale, offset, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    // The kernel also takes tfjs-layers' moving-average steps, v - (v - batch value)(1 - m), as
    // its float operations in their order.
    const [y, mean, variance, movingMean, movingVariance] = tf.engine().runKernel(
      BATCH_NORM_TRAINING,
      {
        x: xs,
        scale,
        offset,
        movingMean: this.movingMean.read(),
        movingVariance: this.movingVariance.read(),
      },
      { varianceEpsilon: this.epsilon, momentum: this.momentum },
    ) as tf.Tensor[];
    save([xs, scale, mean, variance]);
    updates.push(tf.keep(movingMean), tf.keep(movingVariance));
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [x0, scale0, mean0, variance0] = saved;
      return tf
        .engine()
        .runKernel(
          BATCH_NORM_TRAINING_GRAD,
          { dy, x: x0, mean: mean0, variance: variance0, scale: scale0 },
          { varianceEpsilon: this.epsilon },
        ) as tf.Tensor[];
    };
    return { value: y, gradFunc };
  });
  const y = normalize(x, this.gamma.read(), this.beta.read()) as tf.Tensor;
  this.movingMean.write(updates[0]);
  this.movingVariance.write(updates[1]);
  tf.dispose(updates);
  return y;
};

/** Runs BatchNormalization layers in training on the fused kernels (true) or as tfjs does. */
export function useFusedBatchNorm(enabled: boolean): void {
  layerClass.prototype.call = enabled ? fusedCall : stockCall;
}
