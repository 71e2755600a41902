/**
 * The engine benchmarks' models (bench/engine.ts, bench/backend.ts), on 28x28x1 inputs and 10
 * classes: the MLP and CNN that bench/torch_cpu_baseline.py builds layer for layer in PyTorch,
 * and src/models' ResNet (batch norm, residual adds) and ViT (7x7 patches, 16 tokens, dim 64,
 * 2 blocks of 4 heads, LayerNorms).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createModel } from '../../src/models/index.js';
import { crossEntropy } from '../../src/train/loss.js';

export const INPUT_SHAPE: [number, number, number] = [28, 28, 1];
export const NUM_CLASSES = 10;

export type BenchModel = 'mlp' | 'cnn' | 'resnet' | 'vit';

export const BENCH_MODELS: Record<BenchModel, () => tfl.LayersModel> = {
  mlp: () =>
    tfl.sequential({
      layers: [
        tfl.layers.flatten({ inputShape: INPUT_SHAPE }),
        tfl.layers.dense({ units: 256, activation: 'relu' }),
        tfl.layers.dense({ units: 128, activation: 'relu' }),
        tfl.layers.dense({ units: NUM_CLASSES }),
      ],
    }),
  cnn: () =>
    tfl.sequential({
      layers: [
        tfl.layers.conv2d({
          inputShape: INPUT_SHAPE,
          filters: 32,
          kernelSize: 3,
          activation: 'relu',
        }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        tfl.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 128, activation: 'relu' }),
        tfl.layers.dense({ units: NUM_CLASSES }),
      ],
    }),
  resnet: () =>
    createModel('resnet', { inputShape: INPUT_SHAPE, numClasses: NUM_CLASSES, seed: 0 }),
  vit: () => createModel('vit', { inputShape: INPUT_SHAPE, numClasses: NUM_CLASSES, seed: 0 }),
};

/**
 * One training step as the benches time it: forward, cross-entropy (the Trainer's: native
 * kernels on anneal's backends, tfjs's elsewhere), backward, update, read.
 */
export function trainingStep(
  model: tfl.LayersModel,
  optimizer: tf.Optimizer,
  x: tf.Tensor,
  labels: tf.Tensor,
): void {
  const loss = optimizer.minimize(
    () => crossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor),
    true,
  )!;
  loss.dataSync();
  loss.dispose();
}
