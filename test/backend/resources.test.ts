/**
 * Memory over a long run on anneal's backends: training steps leave no tensor, data id or byte
 * behind, and disposing the model and the Trainer returns the live bytes to where they were
 * before. On anneal-cpu (500 steps) that includes its pool of reusable buffers, which emptying
 * leaves at nothing; on anneal-cuda-host (300 steps: its host build is slower) the device's
 * bytes, which between steps are exactly the weights'.
 * anneal-cpu's is skipped where the host device is not built (CI sets ANNEAL_REQUIRE_HOST=1:
 * there it fails).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { hostDeviceProblem, registerAnnealCuda } from '../../src/backend/index.js';
import { POOL_BYTES, type AnnealCpuBackend } from '../../src/backend/host-backend.js';
import { syntheticDataset } from '../../src/data/index.js';
import { initEngine } from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { Trainer } from '../../src/train/trainer.js';

const problem = hostDeviceProblem();
if (problem && process.env.ANNEAL_REQUIRE_HOST === '1') {
  throw new Error(`ANNEAL_REQUIRE_HOST=1 but the host device cannot load: ${problem}`);
}

/** What the backend holds: tensors, data ids, live bytes, the pool's and the device's bytes. */
function held() {
  const memory = tf.memory() as tf.MemoryInfo & {
    numBytesInPool?: number;
    numBytesInDevice?: number;
  };
  return {
    tensors: memory.numTensors,
    dataIds: tf.engine().backend.numDataIds(),
    bytes: memory.numBytes,
    pooled: memory.numBytesInPool ?? 0,
    device: memory.numBytesInDevice ?? 0,
  };
}

/** A CNN and its Trainer for `steps` steps of AdamW on synthetic data, on the current backend. */
function cnnTrainer(steps: number) {
  const model = createModel('cnn', { inputShape: [12, 12, 1], numClasses: 4, seed: 0 });
  const trainer = new Trainer({
    model,
    trainData: syntheticDataset({ n: 640, seed: 1, shape: [12, 12, 1], numClasses: 4 }),
    maxDuration: `${steps}ba`,
    batchSize: 32,
    seed: 0,
    kernels: 'js',
    optimizer: { name: 'adamw', lr: 1e-3 },
  });
  return { model, trainer };
}

test(
  'anneal-cpu: 500 steps hold steady; disposing returns the bytes',
  {
    skip: problem ?? false,
  },
  async () => {
    await initEngine({ backend: 'anneal-cpu' });
    const backend = tf.engine().backend as AnnealCpuBackend;
    const before = held();
    const { model, trainer } = cnnTrainer(500);
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
  },
);

test('anneal-cuda-host: 300 steps hold steady; disposing returns every device byte', async () => {
  registerAnnealCuda('host');
  await initEngine({ backend: 'anneal-cuda-host' });
  const before = held();
  const { model, trainer } = cnnTrainer(300);
  await trainer.fit({ duration: '20ba' });
  const warm = held();
  // Every live float32/int32 tensor is a device vector; between steps the device holds the
  // weights and nothing else (the optimizer's state is the Trainer's flat vectors, with kernels
  // 'js' in host memory).
  assert.equal(warm.device, warm.bytes);
  assert.equal(warm.device, before.device + 4 * model.countParams());
  await trainer.fit({ duration: '280ba' });
  assert.deepEqual(held(), warm);
  trainer.dispose();
  model.dispose();
  assert.deepEqual(held(), before);
});
