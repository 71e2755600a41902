/**
 * A plain supervised training loop: seeded batches from a DataLoader, softmax cross-entropy on
 * the model's logits, a tfjs Adam optimizer, evaluation after each epoch. This is the
 * foundation's loop; the event-driven Trainer with fused kernel steps builds on the same
 * pieces (loss, evaluation, checkpoint).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { DataLoader, type Batch, type Dataset } from '../data/index.js';
import { UsageError } from '../errors.js';
import type { CheckpointContents } from './checkpoint.js';

export interface FitOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Evaluated after every epoch when given. */
  evalData?: Dataset;
  onBatchEnd?: (info: BatchInfo) => void | Promise<void>;
  onEpochEnd?: (info: EpochInfo) => void | Promise<void>;
}

export interface BatchInfo {
  epoch: number;
  batch: number;
  batchesPerEpoch: number;
  step: number;
  samples: number;
  loss: number;
}

export interface EpochInfo {
  epoch: number;
  step: number;
  samples: number;
  trainLoss: number;
  /** Seconds spent in training steps only (evaluation excluded). */
  trainSeconds: number;
  evalSeconds: number;
  eval?: Evaluation;
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  count: number;
}

export interface FitResult {
  epochs: EpochInfo[];
  final?: Evaluation;
  steps: number;
  samples: number;
  trainSeconds: number;
}

export function batchTensors(batch: Batch, numClasses: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const [h, w, c] = batch.shape;
  return tf.tidy(() => ({
    x: tf.tensor4d(batch.images, [batch.size, h, w, c]),
    y: tf.oneHot(tf.tensor1d(batch.labels, 'int32'), numClasses) as tf.Tensor2D,
  }));
}

export function crossEntropy(labelsOneHot: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(labelsOneHot, logits) as tf.Scalar;
}

export function validateFitOptions(opts: FitOptions): void {
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v <= 0) {
      throw new UsageError(
        'ANNEAL_BAD_OPTION',
        `${name} = ${v} is not valid: expected a positive integer`,
      );
    }
  };
  positiveInt('epochs', opts.epochs);
  positiveInt('batch size', opts.batchSize);
  if (!(opts.lr > 0) || !Number.isFinite(opts.lr)) {
    throw new UsageError(
      'ANNEAL_BAD_OPTION',
      `lr = ${opts.lr} is not valid: expected a positive number such as 1e-3`,
    );
  }
}

export async function fit(
  model: tfl.LayersModel,
  data: Dataset,
  opts: FitOptions,
): Promise<FitResult> {
  validateFitOptions(opts);
  const loader = new DataLoader(data, {
    batchSize: opts.batchSize,
    shuffle: true,
    seed: opts.seed,
  });
  const optimizer = tf.train.adam(opts.lr);
  const result: FitResult = { epochs: [], steps: 0, samples: 0, trainSeconds: 0 };
  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      let lossSum = 0;
      let lossCount = 0;
      let trainSeconds = 0;
      let batchIndex = 0;
      for (const batch of loader.batches(epoch)) {
        const started = performance.now();
        const { x, y } = batchTensors(batch, data.numClasses);
        const lossTensor = optimizer.minimize(
          () => crossEntropy(y, model.apply(x, { training: true }) as tf.Tensor),
          true,
        );
        const loss = (await lossTensor!.data())[0];
        tf.dispose([x, y, lossTensor!]);
        trainSeconds += (performance.now() - started) / 1000;
        result.steps++;
        result.samples += batch.size;
        lossSum += loss * batch.size;
        lossCount += batch.size;
        await opts.onBatchEnd?.({
          epoch,
          batch: batchIndex++,
          batchesPerEpoch: loader.batchesPerEpoch,
          step: result.steps,
          samples: result.samples,
          loss,
        });
      }
      result.trainSeconds += trainSeconds;
      const evalStarted = performance.now();
      const evaluation = opts.evalData ? await evaluate(model, opts.evalData) : undefined;
      const info: EpochInfo = {
        epoch,
        step: result.steps,
        samples: result.samples,
        trainLoss: lossSum / Math.max(1, lossCount),
        trainSeconds,
        evalSeconds: (performance.now() - evalStarted) / 1000,
        eval: evaluation,
      };
      result.epochs.push(info);
      result.final = evaluation;
      await opts.onEpochEnd?.(info);
    }
  } finally {
    optimizer.dispose();
  }
  return result;
}

/** Mean cross-entropy and top-1 accuracy over a whole dataset, in batches. */
export async function evaluate(
  model: tfl.LayersModel,
  data: Dataset,
  batchSize = 500,
): Promise<Evaluation> {
  const loader = new DataLoader(data, { batchSize, shuffle: false });
  let lossSum = 0;
  let correct = 0;
  for (const batch of loader.batches(0)) {
    const [loss, hits] = tf.tidy(() => {
      const { x, y } = batchTensors(batch, data.numClasses);
      const logits = model.apply(x, { training: false }) as tf.Tensor2D;
      const l = tf.mul(crossEntropy(y, logits), batch.size);
      const h = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(y, 1)), 'float32'));
      return [l, h];
    });
    const [lv, hv] = await Promise.all([loss.data(), hits.data()]);
    tf.dispose([loss, hits]);
    lossSum += lv[0];
    correct += hv[0];
  }
  return { loss: lossSum / data.length, accuracy: correct / data.length, count: data.length };
}

/** The model's weights as checkpoint tensors, named by their variable names. */
export function modelCheckpoint(
  model: tfl.LayersModel,
  meta: Record<string, unknown>,
): CheckpointContents {
  const tensors = model.weights.map((w) => {
    const value = w.read();
    return { name: w.name, shape: value.shape, data: value.dataSync() as Float32Array };
  });
  return { tensors, meta };
}
