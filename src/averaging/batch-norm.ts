/**
 * BatchNorm statistics of averaged weights (Izmailov et al. 2018, PyTorch's
 * torch.optim.swa_utils.update_bn): the moving mean/variance that the live model collected do
 * not belong to an average of weights, so they are recomputed with one pass over training data
 * as a cumulative average over batches. Here the layer's own update does the work: before batch k
 * (0-based) its momentum is set to k / (k + 1), so moving = (k moving + batch) / (k + 1), the
 * plain mean of the per-batch statistics, exactly PyTorch's `momentum=None` rule.
 *
 * The variance is what tfjs-layers' BatchNormalization keeps: the biased batch variance
 * (PyTorch keeps the unbiased one; the two differ by a factor n / (n - 1) per batch).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { DataLoader, type Dataset } from '../data/index.js';
import { batchTensors } from '../train/loss.js';
import { forward, isLayersModel } from '../train/model.js';
import type { ModelLike } from '../train/state.js';

interface BatchNormLike {
  name: string;
  momentum: number;
  movingMean: tfl.LayerVariable;
  movingVariance: tfl.LayerVariable;
}

function layersOf(model: tfl.LayersModel): tfl.layers.Layer[] {
  return model.layers.flatMap((layer) =>
    'layers' in layer ? [layer, ...layersOf(layer as unknown as tfl.LayersModel)] : [layer],
  );
}

/** The BatchNormalization layers of a model (none for plain-variable models). */
export function batchNormLayers(model: ModelLike): BatchNormLike[] {
  if (!isLayersModel(model)) return [];
  return layersOf(model)
    .filter((l) => l.getClassName() === 'BatchNormalization')
    .map((l) => l as unknown as BatchNormLike);
}

/** A copy of every BatchNorm layer's moving mean and variance (host arrays). */
export type BatchNormStats = { mean: Float32Array; variance: Float32Array }[];

export function saveBatchNormStats(model: ModelLike): BatchNormStats {
  return batchNormLayers(model).map((l) => ({
    mean: (l.movingMean.read().dataSync() as Float32Array).slice(),
    variance: (l.movingVariance.read().dataSync() as Float32Array).slice(),
  }));
}

export function restoreBatchNormStats(model: ModelLike, stats: BatchNormStats): void {
  batchNormLayers(model).forEach((l, i) => {
    const write = (v: tfl.LayerVariable, data: Float32Array) => {
      const t = tf.tensor(data, v.shape as number[]);
      v.write(t);
      t.dispose();
    };
    write(l.movingMean, stats[i].mean);
    write(l.movingVariance, stats[i].variance);
  });
}

export interface RefreshOptions {
  /** Default 128. */
  batchSize?: number;
  /** Use only the first `limit` samples (default all). */
  limit?: number;
}

/**
 * Recomputes every BatchNorm layer's moving mean/variance as the cumulative average of the
 * per-batch statistics over `data` (one pass, in data set order, training-mode forward without
 * gradients). Returns the number of BatchNorm layers refreshed (0: nothing to do, no pass made).
 */
export function refreshBatchNorm(
  model: ModelLike,
  data: Dataset,
  opts: RefreshOptions = {},
): number {
  const layers = batchNormLayers(model);
  if (layers.length === 0) return 0;
  const momenta = layers.map((l) => l.momentum);
  const loader = new DataLoader(data, { batchSize: opts.batchSize ?? 128, shuffle: false });
  const limit = opts.limit ?? data.length;
  try {
    let k = 0;
    let seen = 0;
    for (const batch of loader.batches(0)) {
      if (seen >= limit) break;
      seen += batch.size;
      for (const l of layers) l.momentum = k / (k + 1);
      tf.tidy(() => {
        const { x } = batchTensors(batch, data.numClasses);
        forward(model, x, true);
      });
      k++;
    }
  } finally {
    layers.forEach((l, i) => (l.momentum = momenta[i]));
  }
  return layers.length;
}
