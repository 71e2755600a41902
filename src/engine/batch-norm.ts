/**
 * Batch norm in training on anneal's own backends (anneal-cpu, anneal-cuda): tfjs-layers'
 * BatchNormalization computes tf.moments (Mean, Sub, Square, Mean) and tf.batchNorm, and tfjs
 * differentiates each of those ops, about 40 kernels a layer and step, most of them passes over
 * the activations (a ResNet-8 step at batch 8: 883 native kernel calls). With fast gradients on
 * (useFastGradients), a layer in training whose axis is the last one runs BATCH_NORM_TRAINING
 * instead (moments + FusedBatchNorm: 3 kernels) and its gradient BATCH_NORM_TRAINING_GRAD (one
 * kernel: the closed form, the gradient through the batch statistics included); its moving
 * averages are updated as tfjs-layers updates them. Every other case (inference, another axis,
 * no scale or no centre, another backend) is tfjs-layers' own call.
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
    return { x: () => dx, scale: () => dscale, offset: () => doffset };
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

/** tfjs-layers' moving-average update, the same ops in the same order: v - (v - value)(1 - m). */
function updateMovingAverage(variable: tfl.LayerVariable, value: tf.Tensor, momentum: number) {
  tf.tidy(() => {
    const original = variable.read();
    variable.write(tf.sub(original, tf.mul(tf.sub(original, value), 1 - momentum)));
  });
}

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
  return tf.tidy(() => {
    const [y, mean, variance] = tf
      .engine()
      .runKernel(
        BATCH_NORM_TRAINING,
        { x, scale: this.gamma.read(), offset: this.beta.read() },
        { varianceEpsilon: this.epsilon },
      ) as tf.Tensor[];
    updateMovingAverage(this.movingMean, mean, this.momentum);
    updateMovingAverage(this.movingVariance, variance, this.momentum);
    return y;
  });
};

/** Runs BatchNormalization layers in training on the fused kernels (true) or as tfjs does. */
export function useFusedBatchNorm(enabled: boolean): void {
  layerClass.prototype.call = enabled ? fusedCall : stockCall;
}

export function fusedBatchNormEnabled(): boolean {
  return layerClass.prototype.call === fusedCall;
}
