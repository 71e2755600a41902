/**
 * Batch augmentation: n images become n * M rows, sample-major, each row a crop of its source
 * image padded by hand in the test at the drawn offsets, the M views of a sample distinct;
 * in the Trainer the batch the model sees is M times larger with the labels repeated, the
 * number of steps is unchanged, the loss is finite and tensors do not leak.
 */
import assert from 'node:assert/strict';
import { before, mock, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/data/random.js';
import type { ImageShape } from '../../src/data/types.js';
import { batchAugment, batchAugmentation } from '../../src/methods/batch-augmentation/index.js';
import { replaceBatchTensors } from '../../src/methods/batch.js';
import { Event } from '../../src/train/events.js';
import type { Method } from '../../src/train/method.js';
import { Trainer } from '../../src/train/trainer.js';
import { tinyData, tinyMlp, useTfCpu } from '../train/helpers.js';

before(useTfCpu);

test('batchAugment: M distinct views per sample, each a zero-padded crop at its offsets', () => {
  const shape: ImageShape = [6, 6, 1];
  const [n, m, pad] = [5, 4, 2];
  const size = 36;
  const images = Float32Array.from({ length: n * size }, (_, i) => i + 1);
  const out = batchAugment(images, shape, m, { pad }, new Rng(11));
  assert.equal(out.images.length, n * m * size);
  assert.deepEqual(
    [...out.source],
    [...Array(n).keys()].flatMap((i) => Array(m).fill(i)),
  );
  for (let r = 0; r < n * m; r++) {
    const [oy, ox] = [out.cropOffsets[2 * r], out.cropOffsets[2 * r + 1]];
    const src = out.source[r];
    for (let y = 0; y < 6; y++)
      for (let x = 0; x < 6; x++) {
        // Pixel (y + oy, x + ox) of the image padded by `pad` is (y + oy - pad, x + ox - pad) of the image.
        const [sy, sx] = [y + oy - pad, x + ox - pad];
        const inside = sy >= 0 && sy < 6 && sx >= 0 && sx < 6;
        assert.equal(
          out.images[r * size + y * 6 + x],
          inside ? images[src * size + sy * 6 + sx] : 0,
        );
      }
  }
  for (let i = 0; i < n; i++) {
    const views = new Set(
      Array.from({ length: m }, (_, j) =>
        out.images.subarray((i * m + j) * size, (i * m + j + 1) * size).join(),
      ),
    );
    assert.equal(views.size, m, `sample ${i} has ${views.size} distinct views`);
  }
});

test('bad options are refused with their names', () => {
  const code = (word: string) => (e: Error & { code?: string }) =>
    e.code === 'ANNEAL_BAD_METHOD_OPTION' && e.message.includes(`batch-augmentation: ${word}`);
  for (const m of [0, -1, 2.5, NaN]) assert.throws(() => batchAugmentation({ m }), code('m ='));
  assert.throws(() => batchAugmentation({ m: 2, pad: -1 }), code('pad ='));
  assert.throws(() => batchAugmentation({ m: 2, translate: 0.5 }), code('translate ='));
  assert.throws(() => batchAugmentation({ m: 2, flip: 1 as never }), code('flip ='));
});

/** A Trainer of 2 steps of 16 samples of the tiny MLP, on js kernels, with `methods`. */
const twoStepTrainer = (methods: Method[]) =>
  new Trainer({
    model: tinyMlp(),
    trainData: tinyData(64),
    maxDuration: '2ba',
    batchSize: 16,
    kernels: 'js',
    methods,
  });

test('in the Trainer: M-fold batch with repeated labels, same steps, finite loss, no leak', async () => {
  const m = 3;
  const seen: { rows: number; labels: number[]; batchLabels: number[] }[] = [];
  const probe: Method = {
    name: 'probe',
    match: (event) => event === Event.BEFORE_FORWARD,
    apply: (_e, state) => {
      const batch = state.batch!;
      seen.push({
        rows: batch.x.shape[0],
        labels: [...tf.tidy(() => tf.argMax(batch.y, -1)).dataSync()],
        batchLabels: [...batch.data.labels],
      });
    },
  };
  // Counts top-1 hits over every row the model saw, for the train accuracy check below.
  let hits = 0;
  const hitCounter: Method = {
    name: 'hit-counter',
    match: (event) => event === Event.AFTER_FORWARD,
    apply: (_e, state) => {
      const same = tf.tidy(() =>
        tf.sum(
          tf.cast(tf.equal(tf.argMax(state.outputs!, -1), tf.argMax(state.batch!.y, -1)), 'int32'),
        ),
      );
      hits += same.dataSync()[0];
      same.dispose();
    },
  };
  const trainer = twoStepTrainer([
    batchAugmentation({ m, pad: 2, flip: true, translate: 1 }),
    probe,
    hitCounter,
  ]);
  const before = tf.memory().numTensors;
  await trainer.fit();
  assert.equal(tf.memory().numTensors, before);
  assert.ok(Number.isFinite(trainer.state.lossValue));
  assert.equal(trainer.state.timestamp.step, 2);
  // Train accuracy is over the M-fold rows (2 steps x 16 samples x m views), not the samples.
  assert.equal(trainer.state.metrics['train/accuracy'], hits / (2 * 16 * m));
  assert.equal(seen.length, 2);
  for (const s of seen) {
    assert.equal(s.rows, 16 * m);
    assert.deepEqual(
      s.labels,
      s.batchLabels.flatMap((l) => Array(m).fill(l)),
    );
  }
  trainer.dispose();
});

test('in the Trainer: the inputs are read from the host, or from x after a method changed x on the device', async () => {
  /** Tensor reads made by the batch-augmentation method itself while training 2 steps. */
  const readsByAugmentation = async (methods: Method[]) => {
    const trainer = twoStepTrainer(methods);
    const reads = mock.method(tf.engine().backend, 'readSync');
    await trainer.fit();
    const count = reads.mock.calls.filter((c) =>
      String((c as unknown as { stack: Error }).stack.stack).includes('BatchAugmentation.apply'),
    ).length;
    reads.mock.restore();
    trainer.dispose();
    return count;
  };
  // Alone: the loader's images are on the host, so no read.
  assert.equal(await readsByAugmentation([batchAugmentation({ m: 2, pad: 2, translate: 1 })]), 0);
  // After a method that makes every input 0.5 on the device, the views are of those inputs
  // (0.5, or a padded 0), read from x once a step.
  const values = new Set<number>();
  const halves: Method = {
    name: 'halves',
    match: (event) => event === Event.BATCH_START,
    apply: (_e, state) =>
      replaceBatchTensors(state, tf.fill(state.batch!.x.shape, 0.5), state.batch!.y),
  };
  const probe: Method = {
    name: 'probe',
    match: (event) => event === Event.BEFORE_FORWARD,
    apply: (_e, state) => state.batch!.hostX!.forEach((v) => values.add(v)),
  };
  const augmentation = batchAugmentation({ m: 2, pad: 2, translate: 1 });
  assert.equal(await readsByAugmentation([halves, augmentation, probe]), 2);
  assert.deepEqual([...values].sort(), [0, 0.5]);
});
