/**
 * Helpers of the Trainer suites: a tiny seeded MLP on an 8x8 synthetic set, tfjs on its cpu
 * backend, and the kernel backends to run on (js, and wasm and host when built).
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { syntheticDataset, type Dataset } from '../../src/data/index.js';
import { earlyStopping, nanGuard } from '../../src/methods/index.js';
import { createModel } from '../../src/models/index.js';
import type { Trainer } from '../../src/train/trainer.js';

import { KERNEL_BACKENDS } from '../optim/helpers.js';

export { KERNEL_BACKENDS, useTfCpu } from '../optim/helpers.js';

/** wasm when it is built, else js. */
export const FAST_KERNELS = KERNEL_BACKENDS.some((b) => b.name === 'wasm' && !b.skip)
  ? 'wasm'
  : 'js';

export function tinyData(n = 200, seed = 1): Dataset {
  return syntheticDataset({ n, seed, shape: [8, 8, 1], numClasses: 4 });
}

export function tinyEvalData(n = 100): Dataset {
  return syntheticDataset({ n, seed: 2, split: 'test', shape: [8, 8, 1], numClasses: 4 });
}

/** 8x8x1 -> hidden -> 4 logits, initial weights fixed by `seed`. */
export function tinyMlp(hidden = [16], seed = 0): tfl.LayersModel {
  return createModel('mlp', { inputShape: [8, 8, 1], numClasses: 4, seed, hidden });
}

/** The Trainer's flat parameters on the host. */
export function paramsOf(trainer: Trainer): Float32Array {
  return trainer.ops.download(trainer.state.pv.params);
}

/** The model's weights read from its variables (not through the ParamVector). */
export function modelWeights(model: tfl.LayersModel): number[] {
  return model.trainableWeights.flatMap((w) => [...(w.read().dataSync() as Float32Array)]);
}

/** Runs `fn` and returns how many tensors it left behind. */
export async function tensorsLeft(fn: () => Promise<unknown>): Promise<number> {
  const before = tf.memory().numTensors;
  await fn();
  return tf.memory().numTensors - before;
}

/**
 * The run the kill test trains in a child process and again in the test (helpers are shared so
 * both build the very same run): 400 samples, batches of 20, 8 epochs = 160 steps, AdamW with a
 * cosine schedule, the NaN guard and early stopping (whose state rides in checkpoints),
 * checkpoints every 10 steps (or `checkpointInterval`), keeping 2.
 */
export function killRunOptions(runDir?: string, checkpointInterval = '10ba') {
  return {
    model: tinyMlp([16], 7),
    trainData: tinyData(400, 11),
    evalData: tinyEvalData(40),
    maxDuration: '8ep',
    batchSize: 20,
    seed: 3,
    kernels: 'js' as const,
    optimizer: { name: 'adamw', lr: 1e-2 },
    schedules: { lr: { name: 'cosine' } },
    methods: [nanGuard(), earlyStopping({ patience: 100 })],
    ...(runDir !== undefined && {
      checkpoint: { dir: join(runDir, 'checkpoints'), interval: checkpointInterval, keep: 2 },
    }),
  };
}
