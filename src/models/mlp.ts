/** Multi-layer perceptron: flatten, ReLU dense layers, a dense layer of logits. */
import * as tfl from '@tensorflow/tfjs-layers';
import {
  checkBaseOptions,
  checkPositiveIntList,
  SeedSequence,
  type BaseModelOptions,
} from './init.js';

export interface MlpOptions extends Omit<BaseModelOptions, 'inputShape'> {
  /** An image's [height, width, channels], or [features] for rows of numbers (csv data). */
  inputShape: [number, number, number] | [number];
  /** Widths of the hidden ReLU layers (default [256, 128]). */
  hidden?: number[];
}

export function mlp(opts: MlpOptions): tfl.LayersModel {
  checkBaseOptions('mlp', opts, true);
  const hidden = checkPositiveIntList('mlp', 'hidden', opts.hidden ?? [256, 128]);
  const seeds = new SeedSequence(opts.seed);

  const input = tfl.input({ shape: opts.inputShape });
  // Rows of features are flat already (tfjs's Flatten refuses rank-2 input).
  let x =
    opts.inputShape.length === 1
      ? input
      : (tfl.layers.flatten().apply(input) as tfl.SymbolicTensor);
  for (const units of hidden) {
    x = denseLayer(units, 'relu', seeds).apply(x) as tfl.SymbolicTensor;
  }
  const logits = denseLayer(opts.numClasses, 'linear', seeds).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: logits, name: 'mlp' });
}

function denseLayer(units: number, activation: 'relu' | 'linear', seeds: SeedSequence) {
  return tfl.layers.dense({ units, activation, kernelInitializer: seeds.glorotUniform() });
}
