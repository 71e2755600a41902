/**
 * Rebuilds a flat functional model layer by layer, the way tfjs's own model cloning does: each
 * layer is made anew from its config (or rebuilt its own way by `rewrite`) and applied to the
 * rebuilt graph; once `build` has made the new model, every copied layer gets the original's
 * weights. Model transforms use it: BlurPool (strided layers replaced) and ALASCA (heads added).
 */
import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

type LayerClass = tf.serialization.SerializableConstructor<tfl.layers.Layer>;

/** The rebuilt graph, for `build` to make the new model from. */
export interface RebuiltGraph {
  /** Fresh inputs of the rebuilt model, one per original input. */
  readonly inputs: tfl.SymbolicTensor[];
  /** The rebuilt counterpart of a tensor of the original model (e.g. one of model.outputs). */
  tensorFor(t: tfl.SymbolicTensor): tfl.SymbolicTensor;
  /** The rebuilt output of the original layer called `name`. */
  outputOf(name: string): tfl.SymbolicTensor;
}

export interface RebuildOptions {
  /** The error for a layer that cannot be rebuilt: a nested model, or a layer used twice. */
  unsupported(layer: tfl.layers.Layer, why: 'a nested model' | 'shared'): Error;
  /**
   * Rebuilds `layer` on `args` its own way and returns its outputs, or returns null to copy it
   * as it is. `copy(config)` makes a fresh layer of the same class whose weights will be the
   * original's (so its weight shapes must not change).
   */
  rewrite?(
    layer: tfl.layers.Layer,
    args: tfl.SymbolicTensor[],
    copy: (config: tf.serialization.ConfigDict) => tfl.layers.Layer,
  ): tfl.SymbolicTensor | tfl.SymbolicTensor[] | null;
  /** Makes the new model from the rebuilt graph. */
  build(graph: RebuiltGraph): tfl.LayersModel;
}

export function rebuildModel(model: tfl.LayersModel, opts: RebuildOptions): tfl.LayersModel {
  const byId = new Map<number, tfl.SymbolicTensor>();
  const inputs = model.inputs.map((t) => {
    const fresh = tfl.input({ shape: t.shape.slice(1).map((d) => d ?? 0), dtype: t.dtype });
    byId.set(t.id, fresh);
    return fresh;
  });
  const copies: Array<[tfl.layers.Layer, tfl.layers.Layer]> = [];
  const outputsOf = new Map<string, tfl.SymbolicTensor>();
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    if ('layers' in layer) throw opts.unsupported(layer, 'a nested model');
    if (layer.inboundNodes.length !== 1) throw opts.unsupported(layer, 'shared');
    const node = layer.inboundNodes[0];
    const args = node.inputTensors.map((t) => byId.get(t.id)!);
    const copy = (config: tf.serialization.ConfigDict) => {
      const cls = layer.constructor as LayerClass;
      const fresh = cls.fromConfig(cls, config);
      copies.push([layer, fresh]);
      return fresh;
    };
    const out =
      opts.rewrite?.(layer, args, copy) ??
      (copy(layer.getConfig()).apply(args.length === 1 ? args[0] : args) as
        tfl.SymbolicTensor | tfl.SymbolicTensor[]);
    const outs = Array.isArray(out) ? out : [out];
    node.outputTensors.forEach((t, i) => byId.set(t.id, outs[i]));
    outputsOf.set(layer.name, outs[0]);
  }
  const rebuilt = opts.build({
    inputs,
    tensorFor: (t) => byId.get(t.id)!,
    outputOf: (name) => outputsOf.get(name)!,
  });
  for (const [from, to] of copies) {
    const weights = from.getWeights();
    if (weights.length > 0) to.setWeights(weights);
  }
  return rebuilt;
}
