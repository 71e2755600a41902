/** What methods that rewrite the current batch share. */
import * as tf from '@tensorflow/tfjs-core';
import type { TrainState } from '../train/state.js';

/**
 * Puts new input and target tensors in the current batch and disposes the ones they replace
 * (the Trainer disposes the tensors it made again at BATCH_END; a second dispose is a no-op).
 * `hostX`: new inputs' values on the host, when the method made x from them (TrainBatch.hostX).
 */
export function replaceBatchTensors(
  state: TrainState,
  x: tf.Tensor,
  y: tf.Tensor,
  hostX: Float32Array | null = null,
): void {
  const batch = state.batch!;
  const replaced = [batch.x, batch.y].filter((t) => t !== x && t !== y);
  if (x !== batch.x) batch.hostX = hostX;
  batch.x = x;
  batch.y = y;
  batch.size = x.shape[0];
  tf.dispose(replaced);
}

/**
 * The current batch's inputs on the host: TrainBatch.hostX when a method or the loader left them
 * there, else read from x (on a GPU that read waits for the device).
 */
export function hostInputs(state: TrainState): Float32Array {
  const batch = state.batch!;
  return batch.hostX ?? (batch.x.dataSync() as Float32Array);
}
