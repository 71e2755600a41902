/**
 * Evaluating weights other than the live ones: evaluation of a flat weight vector that leaves
 * the live weights and BatchNorm statistics as they were, and softmax-averaging ensembles.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DataLoader, type Dataset } from '../data/index.js';
import type { ParamVector } from '../engine/param-vector.js';
import type { FlatVector } from '../kernels/index.js';
import { batchTensors } from '../train/loss.js';
import { forward } from '../train/model.js';
import type { ModelLike } from '../train/state.js';
import {
  refreshBatchNorm,
  restoreBatchNormStats,
  saveBatchNormStats,
  type RefreshOptions,
} from './batch-norm.js';

export interface WithWeightsOptions {
  /** Refresh BatchNorm statistics on this data before running (they are put back after). */
  refreshData?: Dataset;
  refresh?: RefreshOptions;
}

/**
 * Runs `fn` with the model's weights set to `weights` (a flat vector of pv's layout), and
 * BatchNorm statistics refreshed on `refreshData` when given; afterwards the live weights
 * (pv.params and the model's variables) and BatchNorm statistics are exactly what they were.
 */
export function withWeights<T>(
  model: ModelLike,
  pv: ParamVector,
  weights: FlatVector | Float32Array,
  fn: () => T,
  opts: WithWeightsOptions = {},
): T {
  const stats = opts.refreshData ? saveBatchNormStats(model) : null;
  const live = pv.swapIn(weights);
  try {
    if (opts.refreshData) refreshBatchNorm(model, opts.refreshData, opts.refresh);
    return fn();
  } finally {
    pv.restore(live);
    if (stats) restoreBatchNormStats(model, stats);
  }
}

/** Softmax probabilities of the model on every sample of `data`, [length * classes]. */
export function predictProbabilities(
  model: ModelLike,
  data: Dataset,
  batchSize = 500,
): Float32Array {
  const out = new Float32Array(data.length * data.numClasses);
  const loader = new DataLoader(data, { batchSize, shuffle: false });
  let row = 0;
  for (const batch of loader.batches(0)) {
    const probs = tf.tidy(() => {
      const { x } = batchTensors(batch, data.numClasses);
      return tf.softmax(forward(model, x, false));
    });
    out.set(probs.dataSync() as Float32Array, row * data.numClasses);
    probs.dispose();
    row += batch.size;
  }
  return out;
}

/** Accuracy and mean negative log-likelihood of class probabilities [n * classes]. */
export function probabilityMetrics(
  probs: Float32Array,
  labels: Int32Array,
  numClasses: number,
): { accuracy: number; nll: number } {
  let hits = 0;
  let nll = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) {
      if (probs[i * numClasses + c] > probs[i * numClasses + best]) best = c;
    }
    if (best === labels[i]) hits++;
    nll -= Math.log(Math.max(probs[i * numClasses + labels[i]], 1e-12));
  }
  return { accuracy: hits / labels.length, nll: nll / labels.length };
}

export interface EnsembleMember {
  accuracy: number;
  nll: number;
}

export interface EnsembleEvaluation {
  /** Each member alone. */
  members: EnsembleMember[];
  /** The ensemble of the first k members (k = 1..K): softmax outputs averaged. */
  ensemble: EnsembleMember[];
}

/**
 * Ensemble prediction by averaging softmax outputs (FGE, Garipov et al. 2018): accuracy and NLL
 * of every member and of the ensemble of the first k members, for each k. Live weights and
 * BatchNorm statistics are left as they were.
 */
export function evaluateEnsemble(
  model: ModelLike,
  pv: ParamVector,
  members: readonly (FlatVector | Float32Array)[],
  data: Dataset,
  opts: WithWeightsOptions & { batchSize?: number } = {},
): EnsembleEvaluation {
  const sum = new Float32Array(data.length * data.numClasses);
  const avg = new Float32Array(sum.length);
  const result: EnsembleEvaluation = { members: [], ensemble: [] };
  members.forEach((weights, k) => {
    const probs = withWeights(
      model,
      pv,
      weights,
      () => predictProbabilities(model, data, opts.batchSize),
      opts,
    );
    result.members.push(probabilityMetrics(probs, data.labels, data.numClasses));
    for (let i = 0; i < sum.length; i++) {
      sum[i] += probs[i];
      avg[i] = sum[i] / (k + 1);
    }
    result.ensemble.push(probabilityMetrics(avg, data.labels, data.numClasses));
  });
  return result;
}
