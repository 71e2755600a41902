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
import { callPatch, fusedNormalize, onlyInput } from './fused-norm.js';

/** What the patched call reads of a tfjs-layers LayerNormalization layer. */
interface LayerNormLayer {
  axis: number[];
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tfl.LayerVariable;
  beta: tfl.LayerVariable;
}

/** Runs LayerNormalization layers on the fused kernels (true) or as tfjs-layers does. */
export const useFusedLayerNorm = callPatch<LayerNormLayer>(
  tfl.layers.layerNormalization({}),
  (stock) =>
    function (inputs, kwargs) {
      const x = onlyInput(inputs);
      if (
        x === null ||
        this.axis.length !== 1 ||
        (this.axis[0] + x.rank) % x.rank !== x.rank - 1 ||
        !this.center ||
        !this.scale ||
        x.dtype !== 'float32' ||
        x.rank < 2 ||
        x.size === 0 ||
        tf.getKernel(LAYER_NORM, tf.getBackend()) === undefined
      ) {
        return stock.call(this, inputs, kwargs);
      }
      return fusedNormalize(
        { forward: LAYER_NORM, backward: LAYER_NORM_GRAD },
        [x, this.gamma.read(), this.beta.read()],
        {},
        { varianceEpsilon: this.epsilon },
      ).y;
    },
);
