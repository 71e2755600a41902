/**
 * Layer norm on anneal's own backends (anneal-cpu, anneal-cuda): tfjs-layers'
 * LayerNormalization computes tf.moments, tiles the mean, variance, scale and offset to the
 * input's shape and runs tf.batchNorm, and tfjs differentiates each op (the ViT's step: ~900
 * native kernel calls). With fast gradients on (useFastGradients), a layer over the last axis
 * with scale and centre runs LAYER_NORM (each row's moments and values, one kernel) and for its
 * gradient LAYER_NORM_GRAD (one kernel: dx through the row statistics, and the parameters'
 * gradients). Every other case (other axes, no scale or no centre, another backend) is
 * tfjs-layers' own call.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { LAYER_NORM, LAYER_NORM_GRAD } from '../backend/index.js';

/** What the patched call reads of a tfjs-layers LayerNormalization layer. */
interface LayerNormLayer {
  axis: number[];
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tfl.LayerVariable;
  beta: tfl.LayerVariable;
}

type Call = (
  this: LayerNormLayer,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: Record<string, unknown>,
) => tf.Tensor;

const layerClass = tfl.layers.layerNormalization({}).constructor as unknown as {
  prototype: { call: Call };
};
const stockCall: Call = layerClass.prototype.call;

const fusedCall: Call = function (this, inputs, kwargs) {
  const x = Array.isArray(inputs) ? inputs[0] : inputs;
  if (
    (Array.isArray(inputs) && inputs.length !== 1) ||
    this.axis.length !== 1 ||
    (this.axis[0] + x.rank) % x.rank !== x.rank - 1 ||
    !this.center ||
    !this.scale ||
    x.dtype !== 'float32' ||
    x.rank < 2 ||
    x.size === 0 ||
    tf.getKernel(LAYER_NORM, tf.getBackend()) === undefined
  ) {
    return stockCall.call(this, inputs, kwargs);
  }
  // A custom gradient around the kernel: the tape holds y alone (the kernel's other outputs,
  // the rows' statistics, would each get a dy of zeros made on the host).
  const normalize = tf.customGrad((...args: unknown[]) => {
    const [xs, scale, offset, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const attrs = { varianceEpsilon: this.epsilon };
    const [y, mean, variance] = tf
      .engine()
      .runKernel(LAYER_NORM, { x: xs, scale, offset }, attrs) as tf.Tensor[];
    save([xs, scale, mean, variance]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [x0, scale0, mean0, variance0] = saved;
      return tf
        .engine()
        .runKernel(
          LAYER_NORM_GRAD,
          { dy, x: x0, mean: mean0, variance: variance0, scale: scale0 },
          attrs,
        ) as tf.Tensor[];
    };
    return { value: y, gradFunc };
  });
  return normalize(x, this.gamma.read(), this.beta.read()) as tf.Tensor;
};

/** Runs LayerNormalization layers on the fused kernels (true) or as tfjs-layers does. */
export function useFusedLayerNorm(enabled: boolean): void {
  layerClass.prototype.call = enabled ? fusedCall : stockCall;
}
