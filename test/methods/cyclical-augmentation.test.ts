import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import {
  cyclicalAugmentation,
  cyclicalAugmentationAt,
} from '../../src/methods/cyclical-augmentation/index.js';
import { Event } from '../../src/train/events.js';
import type { Method } from '../../src/train/method.js';
import { Trainer } from '../../src/train/trainer.js';
import { tinyData, tinyMlp, useTfCpu } from '../train/helpers.js';

before(useTfCpu);

// A triangle from min 0 at step 0 to max 4 at the middle of an 8-step run and back:
// heights t/4 then (8-t)/4, times 4, rounded.
const EXPECTED = [0, 1, 2, 3, 4, 3, 2, 1];

test('the strength goes easy -> hard -> easy over the run', () => {
  const at = (t: number) => cyclicalAugmentationAt(t, { min: 0, max: 4, totalSteps: 8 });
  assert.deepEqual(
    EXPECTED.map((_, t) => at(t)),
    EXPECTED,
  );
});

test('bad options name the option', () => {
  const fails = (opts: object, fragment: string) =>
    assert.throws(
      () => cyclicalAugmentation(opts as never),
      (e: Error & { code?: string }) =>
        e.code === 'ANNEAL_BAD_METHOD_OPTION' && e.message.includes(fragment),
    );
  fails({ min: -1, max: 2 }, 'cyclical-augmentation: min = -1');
  fails({ min: 3, max: 2 }, 'min <= max');
  fails({ min: 0, max: 1.5 }, 'max = 1.5');
});

/** Whether `out` is `src` shifted by some (dy, dx) with |dy|, |dx| <= s, zeros filling in. */
function isShiftOf(out: Float32Array, src: Float32Array, h: number, w: number, s: number): boolean {
  for (let dy = -s; dy <= s; dy++) {
    for (let dx = -s; dx <= s; dx++) {
      let same = true;
      for (let y = 0; y < h && same; y++) {
        for (let x = 0; x < w && same; x++) {
          const sy = y - dy;
          const sx = x - dx;
          const expected = sy >= 0 && sy < h && sx >= 0 && sx < w ? src[sy * w + sx] : 0;
          same = out[y * w + x] === expected;
        }
      }
      if (same) return true;
    }
  }
  return false;
}

test('in the Trainer: each image is its own shift by at most s(t) pixels, s(t) as scheduled', async () => {
  const seen: { translate: number; x: Float32Array; source: Float32Array }[] = [];
  const probe: Method = {
    name: 'probe',
    match: (event) => event === Event.BEFORE_FORWARD,
    apply: (_e, state) => {
      seen.push({
        translate: state.metrics['cyclical-augmentation/translate'],
        x: state.batch!.x.dataSync() as Float32Array,
        source: state.batch!.data.images,
      });
    },
  };
  const trainer = new Trainer({
    model: tinyMlp(),
    trainData: tinyData(64),
    maxDuration: '2ep', // 64 samples in batches of 16: 8 steps
    batchSize: 16,
    kernels: 'js',
    methods: [cyclicalAugmentation({ min: 0, max: 4 }), probe],
  });
  const before = tf.memory().numTensors;
  await trainer.fit();
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(
    seen.map((s) => s.translate),
    EXPECTED,
  );
  let moved = 0;
  for (const { translate, x, source } of seen) {
    assert.equal(x.length, source.length, 'the batch keeps its size');
    for (let i = 0; i < 16; i++) {
      const out = x.subarray(i * 64, (i + 1) * 64);
      const src = source.subarray(i * 64, (i + 1) * 64);
      assert.ok(isShiftOf(out, src, 8, 8, translate), `image ${i} at strength ${translate}`);
      if (out.some((v, j) => v !== src[j])) moved++;
    }
  }
  assert.ok(moved > 0, 'some images were actually shifted');
  trainer.dispose();
});
