/**
 * Training on anneal's backends against tfjs-backend-wasm (the default where anneal-cpu is not
 * built), the same seeded run on each: one step gives the same updated weights (1e-5 relative),
 * 200 steps of a small CNN keep the loss within 2% and the accuracy within 0.5 points. On
 * anneal-cpu, and on anneal-cuda-host: the CUDA device's backend on its host build, whose
 * kernels are the GPU's functors run as loops (issue 18's parity check, without a GPU). (That a
 * long run leaves nothing behind is resources.test.ts's and device-backend.test.ts's.)
 * anneal-cpu's are skipped where the host device is not built (CI sets ANNEAL_REQUIRE_HOST=1:
 * there they fail).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostDeviceProblem, registerAnnealCuda } from '../../src/backend/index.js';
import { initEngine } from '../../src/engine/index.js';
import { syntheticDataset } from '../../src/data/index.js';
import { createModel } from '../../src/models/index.js';
import { Trainer, type TrainerOptions } from '../../src/train/trainer.js';
import { paramsOf } from '../train/helpers.js';

const problem = hostDeviceProblem();
if (problem && process.env.ANNEAL_REQUIRE_HOST === '1') {
  throw new Error(`ANNEAL_REQUIRE_HOST=1 but the host device cannot load: ${problem}`);
}
const skip = problem ?? false;

const train = syntheticDataset({ n: 640, seed: 1, shape: [12, 12, 1], numClasses: 4 });
const evalData = syntheticDataset({
  n: 200,
  seed: 2,
  split: 'test',
  shape: [12, 12, 1],
  numClasses: 4,
});

/** A CNN (convs, max pooling, ReLUs, dense) trained with AdamW from seed 0. */
function run(steps: number): TrainerOptions {
  return {
    model: createModel('cnn', { inputShape: [12, 12, 1], numClasses: 4, seed: 0 }),
    trainData: train,
    evalData,
    maxDuration: `${steps}ba`,
    evalInterval: `${steps}ba`,
    batchSize: 32,
    seed: 0,
    kernels: 'js',
    optimizer: { name: 'adamw', lr: 1e-3 },
  };
}

async function trainOn(backend: 'wasm' | 'anneal-cpu' | 'anneal-cuda-host', steps: number) {
  await initEngine({ backend });
  const losses: number[] = [];
  const trainer = new Trainer({
    ...run(steps),
    callbacks: [{ onBatchEnd: (s) => void losses.push(s.lossValue) }],
  });
  const result = await trainer.fit();
  const params = paramsOf(trainer);
  trainer.dispose();
  return { losses, params, accuracy: result.eval!.accuracy };
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-6, Math.abs(b));

registerAnnealCuda('host');

for (const backend of ['anneal-cpu', 'anneal-cuda-host'] as const) {
  const skipIt = backend === 'anneal-cpu' ? skip : false;
  test(
    `${backend}: one step from the same weights: the same updated weights (1e-5)`,
    { skip: skipIt },
    async () => {
      const reference = await trainOn('wasm', 1);
      const native = await trainOn(backend, 1);
      assert.equal(native.params.length, reference.params.length);
      let worst = 0;
      native.params.forEach(
        (p, i) =>
          (worst = Math.max(
            worst,
            Math.abs(p - reference.params[i]) / (1 + Math.abs(reference.params[i])),
          )),
      );
      assert.ok(worst <= 1e-5, `largest relative difference ${worst}`);
      assert.ok(relative(native.losses[0], reference.losses[0]) <= 1e-5);
    },
  );

  test(
    `${backend}: 200 steps: loss within 2% at every 20th step, accuracy within 0.5 points`,
    { skip: skipIt },
    async () => {
      const reference = await trainOn('wasm', 200);
      const native = await trainOn(backend, 200);
      for (let s = 19; s < 200; s += 20) {
        assert.ok(
          relative(native.losses[s], reference.losses[s]) <= 0.02,
          `step ${s + 1}: ${native.losses[s]} vs ${reference.losses[s]}`,
        );
      }
      assert.ok(
        Math.abs(native.accuracy - reference.accuracy) <= 0.005,
        `${native.accuracy} vs ${reference.accuracy}`,
      );
      // The run learns: a check that the comparison is of a real training curve.
      assert.ok(reference.accuracy > 0.5, `reference accuracy ${reference.accuracy}`);
    },
  );
}
