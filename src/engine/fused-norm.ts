/**
 * What the fused batch norm and layer norm (batch-norm.ts, layer-norm.ts) share: the tfjs-layers
 * layer class whose `call` each replaces (and puts back), and a pair of native kernels run under
 * a custom gradient. The tape then holds y alone: a kernel's other outputs on the tape (its
 * statistics, moving averages) would each get a dy of zeros made on the host when the gradient
 * runs, an upload each on the CUDA device.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

export type LayerCall<L> = (
  this: L,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: Record<string, unknown>,
) => tf.Tensor;

/**
 * A switch between `fused(stock)` (true) and tfjs-layers' own call for the class of `layer`;
 * `fused` falls back to `stock` where it does not apply.
 */
export function callPatch<L>(
  layer: tfl.layers.Layer,
  fused: (stock: LayerCall<L>) => LayerCall<L>,
): (enabled: boolean) => void {
  const { prototype } = layer.constructor as unknown as { prototype: { call: LayerCall<L> } };
  const stock = prototype.call;
  const patched = fused(stock);
  return (enabled) => {
    prototype.call = enabled ? patched : stock;
  };
}

/** The layer's one input tensor, or null when it was given several. */
export function onlyInput(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor | null {
  if (!Array.isArray(inputs)) return inputs;
  return inputs.length === 1 ? inputs[0] : null;
}

/**
 * `forward` of x, scale, offset and `more` (outputs y, mean, variance, then any others) with
 * `backward` of dy, x, mean, variance and scale (outputs dx, dscale, doffset) as its gradient.
 * Returns y and the forward's outputs after the third, kept: the caller disposes them.
 */
export function fusedNormalize(
  kernels: { forward: string; backward: string },
  [x, scale, offset]: [tf.Tensor, tf.Tensor, tf.Tensor],
  more: tf.NamedTensorMap,
  attrs: tf.NamedAttrMap,
): { y: tf.Tensor; others: tf.Tensor[] } {
  const others: tf.Tensor[] = [];
  const normalize = tf.customGrad((...args: unknown[]) => {
    const [xs, s, o, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, mean, variance, ...rest] = tf
      .engine()
      .runKernel(kernels.forward, { x: xs, scale: s, offset: o, ...more }, attrs) as tf.Tensor[];
    save([xs, s, mean, variance]);
    others.push(...rest.map((t) => tf.keep(t)));
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [x0, scale0, mean0, variance0] = saved;
      return tf
        .engine()
        .runKernel(
          kernels.backward,
          { dy, x: x0, mean: mean0, variance: variance0, scale: scale0 },
          attrs,
        ) as tf.Tensor[];
    };
    return { value: y, gradFunc };
  });
  return { y: normalize(x, scale, offset) as tf.Tensor, others };
}
