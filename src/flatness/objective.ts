/**
 * What the flatness measures probe: a loss over a flat weight vector on the kernels, its
 * gradient, and (for models) accuracy. A model objective evaluates a fixed data subset with the
 * model's weights set from the vector (through a ParamVector); a function objective wraps any
 * host function (a quadratic in the tests). The model's own weights are put back by dispose().
 */
import * as tf from '@tensorflow/tfjs-core';
import { DataLoader, Rng, subset, type Dataset } from '../data/index.js';
import { ParamVector } from '../engine/param-vector.js';
import type { FlatOps, FlatVector } from '../kernels/index.js';
import { batchTensors, crossEntropy, top1Hits } from '../train/loss.js';
import { forward, isLayersModel } from '../train/model.js';
import type { LossFn, ModelLike } from '../train/state.js';

/** A weight tensor's place in the flat vector (filter-wise normalisation needs the shape). */
export interface ShapedSegment {
  offset: number;
  length: number;
  shape: readonly number[];
}

/** A random mini-batch: `size` samples drawn without replacement, seeded. */
export interface MiniBatch {
  seed: number;
  size: number;
}

/**
 * One heavy-ball SGD step on x (momentum; no dampening, Nesterov or weight decay): the inner
 * optimiser of the mode-connecting curve fit and of Replicated-SGD.
 */
export function momentumStep(
  ops: FlatOps,
  x: FlatVector,
  grad: FlatVector,
  buf: FlatVector,
  h: { lr: number; momentum: number; step: number },
): void {
  ops.sgd(x, grad, buf, { ...h, dampening: 0, nesterov: false, weightDecay: 0, decoupled: false });
}

export interface Objective {
  readonly ops: FlatOps;
  readonly length: number;
  /** Weight tensors, for filter-wise normalisation (empty: none known). */
  readonly segments: readonly ShapedSegment[];
  /** The loss at x (the whole subset). */
  loss(x: FlatVector): number;
  /** Writes the gradient at x into `out` and returns the loss (on a mini-batch when given). */
  gradient(x: FlatVector, out: FlatVector, batch?: MiniBatch): number;
  /** Loss and accuracy at x (NaN accuracy when the objective has none). */
  evaluate(x: FlatVector): { loss: number; accuracy: number };
  /** Frees what the objective holds and puts back what it changed. */
  dispose(): void;
}

export interface ModelObjectiveOptions {
  /** Only the first `limit` samples of the data (default all). */
  limit?: number;
  /** Default 500. */
  batchSize?: number;
  lossFn?: LossFn;
}

/**
 * The mean loss of `model` over `data` (inference mode) as a function of its trainable weights,
 * laid out as ParamVector.create lays them out on `ops`. The starting weights are available as
 * `initial` and are restored into the model by dispose().
 */
export class ModelObjective implements Objective {
  readonly length: number;
  readonly segments: readonly ShapedSegment[];
  readonly pv: ParamVector;
  /** The model's weights when the objective was made (a kernel vector; freed by dispose). */
  readonly initial: FlatVector;
  readonly data: Dataset;
  private readonly lossFn: LossFn;
  private readonly batchSize: number;
  private readonly variables: tf.Variable[];

  constructor(
    readonly model: ModelLike,
    data: Dataset,
    readonly ops: FlatOps,
    opts: ModelObjectiveOptions = {},
  ) {
    this.data =
      opts.limit !== undefined && opts.limit < data.length
        ? subset(
            data,
            Array.from({ length: opts.limit }, (_, i) => i),
          )
        : data;
    this.lossFn = opts.lossFn ?? crossEntropy;
    this.batchSize = opts.batchSize ?? 500;
    this.pv = ParamVector.create(
      isLayersModel(model) ? model : { variables: model.variables },
      ops,
    );
    this.length = this.pv.length;
    this.segments = this.pv.segments;
    this.initial = ops.alloc(this.length);
    ops.copy(this.initial, this.pv.params);
    this.variables = isLayersModel(model)
      ? model.trainableWeights.map((w) => w.read() as tf.Variable)
      : [...model.variables];
  }

  private set(x: FlatVector): void {
    if (x !== this.pv.params) this.ops.copy(this.pv.params, x);
    this.pv.writeBack();
  }

  evaluate(x: FlatVector): { loss: number; accuracy: number } {
    this.set(x);
    const loader = new DataLoader(this.data, { batchSize: this.batchSize, shuffle: false });
    let lossSum = 0;
    let hits = 0;
    for (const batch of loader.batches(0)) {
      const [l, h] = tf.tidy(() => {
        const { x: input, y } = batchTensors(batch, this.data.numClasses);
        const logits = forward(this.model, input, false);
        return [tf.mul(this.lossFn(y, logits), batch.size), top1Hits(y, logits)];
      });
      lossSum += l.dataSync()[0];
      hits += h.dataSync()[0];
      tf.dispose([l, h]);
    }
    return { loss: lossSum / this.data.length, accuracy: hits / this.data.length };
  }

  loss(x: FlatVector): number {
    return this.evaluate(x).loss;
  }

  gradient(x: FlatVector, out: FlatVector, batch?: MiniBatch): number {
    this.set(x);
    const data = batch ? this.sample(batch) : this.data;
    const loader = new DataLoader(data, { batchSize: this.batchSize, shuffle: false });
    this.ops.fill(out, 0);
    let lossSum = 0;
    for (const b of loader.batches(0)) {
      const { x: input, y } = batchTensors(b, data.numClasses);
      const { value, grads } = tf.variableGrads(
        () => this.lossFn(y, forward(this.model, input, false)),
        this.variables,
      );
      try {
        this.pv.setGrads(grads);
        lossSum += value.dataSync()[0] * b.size;
      } finally {
        tf.dispose([value, input, y, ...Object.values(grads)]);
      }
      this.ops.axpy(out, b.size / data.length, this.pv.grads);
    }
    return lossSum / data.length;
  }

  private sample(batch: MiniBatch): Dataset {
    const rng = new Rng(batch.seed);
    const n = this.data.length;
    const size = Math.min(batch.size, n);
    // Partial Fisher-Yates: the first `size` entries of a random permutation.
    const idx = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < size; i++) {
      const j = i + rng.int(n - i);
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    return subset(this.data, idx.subarray(0, size));
  }

  dispose(): void {
    if (!this.initial.alive) return;
    this.ops.copy(this.pv.params, this.initial);
    this.pv.writeBack();
    this.ops.free(this.initial);
    this.pv.dispose();
  }
}

export function modelObjective(
  model: ModelLike,
  data: Dataset,
  ops: FlatOps,
  opts: ModelObjectiveOptions = {},
): ModelObjective {
  return new ModelObjective(model, data, ops, opts);
}

/** A host function f(x) -> { loss, grad } as an Objective (no accuracy, no segments). */
export function functionObjective(
  ops: FlatOps,
  length: number,
  f: (x: Float32Array) => { loss: number; grad: Float32Array },
  segments: readonly ShapedSegment[] = [],
): Objective {
  return {
    ops,
    length,
    segments,
    loss: (x) => f(ops.download(x)).loss,
    gradient: (x, out) => {
      const { loss, grad } = f(ops.download(x));
      ops.upload(out, grad);
      return loss;
    },
    evaluate: (x) => ({ loss: f(ops.download(x)).loss, accuracy: NaN }),
    dispose: () => {},
  };
}
