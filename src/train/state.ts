/**
 * What the Trainer shows its methods and callbacks: the model, its flat parameters, the
 * optimizer, the current batch and its tensors, the loss, the metrics and the time. Methods may
 * change the mutable fields; callbacks only read them.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Batch, DataLoader, Dataset } from '../data/index.js';
import type { ParamVector } from '../engine/param-vector.js';
import type { FlatOps } from '../kernels/index.js';
import type { Optimizer } from '../optim/index.js';
import type { Timeline } from '../time/index.js';

/** A model given as plain variables and a forward function (no tfjs-layers needed). */
export interface PlainModel {
  readonly variables: readonly tf.Variable[];
  forward(x: tf.Tensor, training: boolean): tf.Tensor;
}

export type ModelLike = tfl.LayersModel | PlainModel;

/** labels first, as tf.losses: (one-hot labels [batch, classes], logits) -> mean loss. */
export type LossFn = (labels: tf.Tensor, outputs: tf.Tensor) => tf.Scalar;

/**
 * Training time (Composer's Timestamp). Counters advance right after the optimizer step, so
 * during BATCH_START..AFTER_STEP `step` is the index of the batch being trained (the step the
 * schedules are evaluated at) and at BATCH_END it counts that batch; `epoch` counts completed
 * epochs and advances before EPOCH_END. A step skipped by a method (NaN guard) still counts.
 */
export interface Timestamp {
  /** Completed epochs. */
  epoch: number;
  /** Batches completed in the current epoch. */
  batchInEpoch: number;
  /** Batches completed in the run (= optimizer steps, skipped ones included). */
  step: number;
  /** Samples trained on in the run. */
  samples: number;
  /** Seconds spent training (forward, backward, step and methods; no eval, callbacks or I/O). */
  trainSeconds: number;
  /** Seconds spent evaluating. */
  evalSeconds: number;
}

/** The tensors of one training batch (the Trainer disposes them at BATCH_END). */
export interface TrainBatch {
  /** Inputs, NHWC. */
  x: tf.Tensor;
  /** One-hot labels [size, numClasses] (methods may make them soft). */
  y: tf.Tensor;
  size: number;
  /** The loader's batch (host arrays and sample indices). */
  data: Batch;
  /**
   * x's values on the host when known: the loader's images, or what a method made x from; null
   * once a method replaces x without them. Reading these instead of x waits for no device.
   */
  hostX: Float32Array | null;
}

export interface TrainState {
  readonly model: ModelLike;
  readonly pv: ParamVector;
  readonly optimizer: Optimizer;
  readonly ops: FlatOps;
  readonly loader: DataLoader;
  readonly trainData: Dataset;
  readonly evalData: Dataset | undefined;
  /** The run's shape, for converting durations; totalSteps is the run's length. */
  readonly timeline: Timeline;
  readonly maxSteps: number;
  readonly seed: number;
  timestamp: Timestamp;
  /** The current batch (null outside a batch). A method may replace x or y at BATCH_START. */
  batch: TrainBatch | null;
  /** The model's outputs (logits) of the current batch, from AFTER_FORWARD to BATCH_END. */
  outputs: tf.Tensor | null;
  /** The loss tensor of the current batch, from AFTER_LOSS to BATCH_END. */
  loss: tf.Scalar | null;
  /**
   * The loss of the current batch as a number, from AFTER_BACKWARD on (NaN before). Reading it
   * waits for the backend (on a GPU, for the step's work so far); the Trainer itself never does.
   */
  lossValue: number;
  /** The training loss; a method may replace it (label smoothing, mixup, ...). */
  lossFn: LossFn;
  /** Set by a method (before BEFORE_STEP ends) to skip this batch's optimizer step. */
  skipStep: boolean;
  /**
   * 'train/loss', 'train/accuracy' (epoch means so far), 'eval/loss', 'eval/accuracy', ... The two
   * train means are read from the backend when read (every step since the last read at once).
   */
  metrics: Record<string, number>;
  /** Set by a method to end the run after the current batch or evaluation. */
  stopRequested: boolean;
  stopReason: string | null;
  /** True at FIT_END when the run is over (its length reached or a stop requested). */
  runComplete: boolean;
  /** Path of the last checkpoint written or resumed from. */
  lastCheckpoint: string | null;
  /**
   * A seed for this step's randomness (dropout, augmentation) on an independent `stream`: a pure
   * function of (seed, step, stream), so a resumed run draws the same numbers.
   */
  stepSeed(stream: number): number;
}
