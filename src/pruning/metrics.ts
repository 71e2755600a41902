/**
 * ShrinkBench's metrics of a pruned model (Blalock et al. 2020): parameter counts, compression
 * ratio, theoretical FLOPs and speedup counted per layer from the mask, top-1/top-5 accuracy and
 * a per-layer sparsity table; and the model's size stored sparsely (CSR).
 *
 * FLOPs here are multiply-accumulates of the conv and dense kernels: one per kernel weight per
 * output position (a conv layer's output height x width; 1 for a dense layer on a vector), biases,
 * normalisation and activations left out. A pruned weight (mask 0) costs nothing, so a layer's
 * pruned FLOPs are its kept weights x its output positions.
 *
 * A mask gives no speed-up in tfjs: the pruned weights are zeros in dense tensors and every
 * multiply still runs. The FLOPs and the CSR size say what a sparse kernel or format would gain.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { DataLoader, type Dataset } from '../data/index.js';
import type { ParamSegment, ParamVector } from '../engine/param-vector.js';
import { batchTensors, crossEntropy } from '../train/loss.js';
import { forward, isLayersModel } from '../train/model.js';
import type { ModelLike } from '../train/state.js';

export interface LayerStats {
  /** The weight's name (segment). */
  name: string;
  layer: string;
  kind: string;
  shape: number[];
  params: number;
  /** Weights kept by the mask (all without one). */
  kept: number;
  /** Weights that are exactly 0. */
  zeros: number;
  /** Pruned fraction by the mask. */
  sparsity: number;
  /** Output positions a kernel weight is used at (kernels only; 0 for other weights). */
  positions: number;
  flops: number;
  prunedFlops: number;
}

export interface PruningMetrics {
  totalParams: number;
  /** Weights that are not exactly 0 (ShrinkBench's nonzero count). */
  nonzeroParams: number;
  /** totalParams / nonzeroParams. */
  compressionRatio: number;
  flops: number;
  prunedFlops: number;
  /** flops / prunedFlops. */
  speedup: number;
  /** float32 dense size: 4 bytes per weight. */
  denseBytes: number;
  /** Each kernel in CSR (or dense where that is smaller), other weights dense. */
  sparseBytes: number;
  layers: LayerStats[];
}

/** Every layer of a model, nested models' layers included. */
function allLayers(model: tfl.LayersModel): tfl.layers.Layer[] {
  return model.layers.flatMap((layer) =>
    'layers' in layer ? [layer, ...allLayers(layer as unknown as tfl.LayersModel)] : [layer],
  );
}

/** Output positions of each layer: the product of its output shape without batch and channels. */
function positionsByLayer(model: ModelLike): Map<string, number> {
  const positions = new Map<string, number>();
  if (!isLayersModel(model)) return positions;
  for (const layer of allLayers(model)) {
    let shape: unknown;
    try {
      shape = layer.outputShape;
    } catch {
      continue; // a layer used at several nodes has no single output shape
    }
    if (!Array.isArray(shape) || Array.isArray(shape[0])) continue;
    const inner = (shape as (number | null)[]).slice(1, -1);
    positions.set(
      layer.name,
      inner.reduce<number>((a, b) => a * (b ?? 1), 1),
    );
  }
  return positions;
}

/**
 * Bytes of a [..., rows] kernel in CSR with float32 values and int32 column indices:
 * 8 bytes per kept weight + 4 (rows + 1) for the row pointers (rows = the output units, the
 * kernel's last dimension).
 */
export function csrBytes(shape: readonly number[], kept: number): number {
  const rows = shape[shape.length - 1] ?? 1;
  return 8 * kept + 4 * (rows + 1);
}

/**
 * The metrics of `model` whose weights `pv` holds, under `mask` (default pv's own; none: dense).
 * Kernels of plain-variable models count once per sample (as dense layers).
 */
export function pruningMetrics(
  model: ModelLike,
  pv: ParamVector,
  mask: Float32Array | null = pv.mask ? pv.ops.download(pv.mask) : null,
): PruningMetrics {
  const params = pv.ops.download(pv.params);
  const positions = positionsByLayer(model);
  const layers = pv.segments.map((s) => layerStats(s, params, mask, positions));
  const totalParams = pv.length;
  const nonzeroParams = layers.reduce((n, l) => n + l.params - l.zeros, 0);
  const flops = layers.reduce((n, l) => n + l.flops, 0);
  const prunedFlops = layers.reduce((n, l) => n + l.prunedFlops, 0);
  const sparseBytes = layers.reduce(
    (n, l) =>
      n + (l.kind === 'kernel' ? Math.min(4 * l.params, csrBytes(l.shape, l.kept)) : 4 * l.params),
    0,
  );
  return {
    totalParams,
    nonzeroParams,
    compressionRatio: totalParams / nonzeroParams,
    flops,
    prunedFlops,
    speedup: flops / prunedFlops,
    denseBytes: 4 * totalParams,
    sparseBytes,
    layers,
  };
}

function layerStats(
  s: ParamSegment,
  params: Float32Array,
  mask: Float32Array | null,
  positions: Map<string, number>,
): LayerStats {
  let kept = 0;
  let zeros = 0;
  for (let i = s.offset; i < s.offset + s.length; i++) {
    if (!mask || mask[i] !== 0) kept++;
    if (params[i] === 0) zeros++;
  }
  const at = s.kind === 'kernel' ? (positions.get(s.layer) ?? 1) : 0;
  return {
    name: s.name,
    layer: s.layer,
    kind: s.kind,
    shape: [...s.shape],
    params: s.length,
    kept,
    zeros,
    sparsity: 1 - kept / s.length,
    positions: at,
    flops: at * s.length,
    prunedFlops: at * kept,
  };
}

export interface TopKEvaluation {
  loss: number;
  top1: number;
  top5: number;
  count: number;
}

/** Mean loss and top-1 / top-5 accuracy over `data`, in inference mode. */
export async function evaluateTopK(
  model: ModelLike,
  data: Dataset,
  opts: { batchSize?: number } = {},
): Promise<TopKEvaluation> {
  const loader = new DataLoader(data, { batchSize: opts.batchSize ?? 500, shuffle: false });
  const k = Math.min(5, data.numClasses);
  let lossSum = 0;
  let hits1 = 0;
  let hits5 = 0;
  for (const batch of loader.batches(0)) {
    const [loss, top] = tf.tidy(() => {
      const { x, y } = batchTensors(batch, data.numClasses);
      const logits = forward(model, x, false);
      return [tf.mul(crossEntropy(y, logits), batch.size), tf.topk(logits, k).indices];
    });
    const [lv, idx] = await Promise.all([loss.data(), top.data()]);
    tf.dispose([loss, top]);
    lossSum += lv[0];
    for (let r = 0; r < batch.size; r++) {
      const label = batch.labels[r];
      if (idx[r * k] === label) hits1++;
      for (let j = 0; j < k; j++) if (idx[r * k + j] === label) hits5++;
    }
  }
  const n = data.length;
  return { loss: lossSum / n, top1: hits1 / n, top5: hits5 / n, count: n };
}
