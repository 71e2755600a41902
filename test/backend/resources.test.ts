/**
 * anneal-cpu's memory over a long run: 500 training steps leave no tensor, data id or byte behind
 * (live or in the pool of reusable buffers), and disposing the model and the Trainer returns the
 * live bytes to where they were before; emptying the pool leaves nothing held.
 * Skipped where the host device is not built (CI sets ANNEAL_REQUIRE_HOST=1: there it fails).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { hostDeviceProblem } from '../../src/backend/index.js';
import { POOL_BYTES, type AnnealCpuBackend } from '../../src/backend/host-backend.js';
import { syntheticDataset } from '../../src/data/index.js';
import { initEngine } from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { Trainer } from '../../src/train/trainer.js';

const problem = hostDeviceProblem();
if (problem && process.env.ANNEAL_REQUIRE_HOST === '1') {
  throw new Error(`ANNEAL_REQUIRE_HOST=1 but the host device cannot load: ${problem}`);
}

/** What the backend holds: tensors, data ids, live bytes and the pool's bytes. */
function held() {
  const memory = tf.memory() as tf.MemoryInfo & { numBytesInPool: number };
  return {
    tensors: memory.numTensors,
    dataIds: tf.engine().backend.numDataIds(),
    bytes: memory.numBytes,
    pooled: memory.numBytesInPool,
  };
}

test('500 steps hold steady; disposing returns the bytes', { skip: problem ?? false }, async () => {
  await initEngine({ backend: 'anneal-cpu' });
  const backend = tf.engine().backend as AnnealCpuBackend;
  const before = held();
  const model = createModel('cnn', { inputShape: [12, 12, 1], numClasses: 4, seed: 0 });
  const trainer = new Trainer({
    model,
    trainData: syntheticDataset({ n: 640, seed: 1, shape: [12, 12, 1], numClasses: 4 }),
    maxDuration: '500ba',
    batchSize: 32,
    seed: 0,
    kernels: 'js',
    optimizer: { name: 'adamw', lr: 1e-3 },
  });
  await trainer.fit({ duration: '20ba' });
  const warm = held();
  assert.ok(warm.pooled > 0, 'the steps reuse pooled buffers');
  await trainer.fit({ duration: '480ba' });
  assert.deepEqual(held(), warm);

  trainer.dispose();
  model.dispose();
  const after = held();
  assert.deepEqual(
    [after.tensors, after.dataIds, after.bytes],
    [before.tensors, before.dataIds, before.bytes],
  );
  assert.ok(after.pooled <= POOL_BYTES, `${after.pooled} bytes pooled, cap ${POOL_BYTES}`);
  backend.emptyPool();
  assert.equal(held().pooled, 0);
});
