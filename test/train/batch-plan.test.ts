/**
 * Varying batch sizes at the data and timeline level: the loader's take() stops at the epoch's
 * end, planBatchSizes cuts batches at epoch and run ends (a plan worked out by hand), and a
 * timeline of varying batches converts epochs and samples through the running sum of sizes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataLoader } from '../../src/data/index.js';
import { UsageError } from '../../src/errors.js';
import { throwsCode } from '../schedules/helpers.js';
import { Interval } from '../../src/train/interval.js';
import { planBatchSizes, Timeline } from '../../src/time/index.js';
import { tinyData } from './helpers.js';

test('take() draws by sample offset, stops at the epoch end, and agrees with batches()', () => {
  const loader = new DataLoader(tinyData(10), { batchSize: 4, seed: 5 });
  const order = [...loader.order(1)];
  const viaBatches = [...loader.batches(1)].map((b) => [...b.indices]);
  assert.deepEqual(viaBatches, [order.slice(0, 4), order.slice(4, 8), order.slice(8, 10)]);
  assert.deepEqual([...loader.take(1, 8, 4).indices], order.slice(8, 10), 'cut at the epoch end');
  assert.deepEqual([...loader.take(1, 3, 6).indices], order.slice(3, 9));
  assert.equal(loader.take(1, 3, 6).size, 6);
  // Another epoch after a cached one: its own order.
  assert.deepEqual([...loader.take(2, 0, 10).indices], [...loader.order(2)]);
  throwsCode(() => loader.take(0, 10, 4), 'ANNEAL_BAD_BATCH_INDEX', 'offset = 10', '0..9');
  throwsCode(() => loader.take(0, 0, 0), 'ANNEAL_BAD_BATCH_SIZE', 'batch size = 0');
  // dropLast: an epoch is its whole batches only.
  const dropping = new DataLoader(tinyData(10), { batchSize: 4, seed: 5, dropLast: true });
  assert.equal(dropping.samplesPerEpoch, 8);
  assert.equal(dropping.take(0, 4, 4).size, 4);
  throwsCode(() => dropping.take(0, 8, 4), 'ANNEAL_BAD_BATCH_INDEX', 'offset = 8');
});

// Worked by hand: 10 samples an epoch, 25 in the run, size 4 before sample 12 and 3 after.
// seen 0 -> 4, 4 -> 4, 8 -> 2 (epoch end), 10 -> 4, 14 -> 3, 17 -> 3 (epoch end at 20),
// 20 -> 3, 23 -> 2 (run end).
const HAND_PLAN = [4, 4, 2, 4, 3, 3, 3, 2];

test('planBatchSizes asks for each size by samples seen and cuts at epoch and run ends', () => {
  const asked: [number, number][] = [];
  const sizes = planBatchSizes(10, 25, (seen, run) => {
    asked.push([seen, run]);
    return seen < 12 ? 4 : 3;
  });
  assert.deepEqual([...sizes], HAND_PLAN);
  assert.deepEqual(
    asked.map(([seen]) => seen),
    [0, 4, 8, 10, 14, 17, 20, 23],
  );
  assert.ok(asked.every(([, run]) => run === 25));
  throwsCode(() => planBatchSizes(10, 25, () => 0), 'ANNEAL_BAD_BATCH_SIZE', 'gave 0 after 0');
  throwsCode(
    () => planBatchSizes(10, 25, (seen) => (seen > 0 ? 2.5 : 4)),
    'ANNEAL_BAD_BATCH_SIZE',
    'gave 2.5 after 4 of 25',
  );
  throwsCode(() => planBatchSizes(10, 0, () => 4), 'ANNEAL_BAD_TIMELINE', '0 samples');
});

test('a timeline of varying batches converts epochs and samples through the running sum', () => {
  const tl = new Timeline({ samplesPerEpoch: 10, batchSizes: Int32Array.from(HAND_PLAN) });
  // Samples before each step: 0 4 8 10 14 17 20 23 25.
  assert.equal(tl.totalSteps, 8);
  assert.equal(tl.varyingBatch, true);
  const table: [string, number][] = [
    ['1ep', 3], // 10 samples after step 3
    ['2ep', 6], // 20 after step 6
    ['14sp', 4],
    ['12sp', 4], // 3 + (12 - 10) / 4 = 3.5, rounds half up
    ['11sp', 3], // 3.25
    ['0.5ep', 1], // 5 samples: 1 + 1/4 = 1.25
    ['2.5ep', 8],
    ['29sp', 10], // past the run: steps keep the last size (2)
    ['0.5dur', 4],
  ];
  for (const [d, steps] of table) assert.equal(tl.toSteps(d), steps, d);
  assert.deepEqual(
    [0, 1, 3, 5, 8, 10].map((s) => tl.samplesAt(s)),
    [0, 4, 10, 17, 25, 29],
  );
  assert.equal(tl.epochsAt(8), 2.5);
  assert.deepEqual(
    [0, 2, 7, 20].map((s) => tl.batchSizeAt(s)),
    [4, 2, 2, 2],
  );
  assert.equal(tl.withTotal('2ep').totalSteps, 6);
  // More training from a step counts on from the samples seen there.
  assert.equal(tl.stepsFrom(5, '10sp'), 4); // 17 + 10 = 27: step 8 (25) + 2 / 2
  assert.equal(tl.toSteps('10sp'), 3);
  assert.equal(tl.stepsFrom(2, '1ep'), 3); // 8 + 10 = 18: 5 + 1 / 3, rounds to 5
  assert.equal(tl.stepsFrom(2, '3ba'), 3);
  throwsCode(
    () => new Timeline({ samplesPerEpoch: 10, stepsPerEpoch: 3, batchSizes: Int32Array.of(4) }),
    'ANNEAL_BAD_TIMELINE',
    'varying batch sizes',
  );
  throwsCode(
    () => new Timeline({ batchSizes: Int32Array.of(4) }),
    'ANNEAL_BAD_TIMELINE',
    'samplesPerEpoch',
  );
});

test('a fixed-batch timeline counts samples with a partial last batch per epoch', () => {
  // 10 samples, batches of 3: 3 3 3 1 per epoch.
  const tl = Timeline.ofLoader(new DataLoader(tinyData(10), { batchSize: 3 }), '3ep');
  assert.equal(tl.varyingBatch, false);
  assert.deepEqual(
    [0, 3, 4, 5, 12].map((s) => tl.samplesAt(s)),
    [0, 9, 10, 13, 30],
  );
  assert.equal(tl.epochsAt(12), 3);
  assert.equal(tl.batchSizeAt(7), 3);
  throwsCode(
    () => new Timeline({ stepsPerEpoch: 4 }).samplesAt(2),
    'ANNEAL_DURATION_UNITS',
    'samplesPerStep',
  );
});

test('ofSchedule plans a run given in epochs or samples and refuses one given in steps', () => {
  const loader = new DataLoader(tinyData(10), { batchSize: 4 });
  const sizeAt = (seen: number) => (seen < 12 ? 4 : 3);
  assert.deepEqual([...Timeline.ofSchedule(loader, '2.5ep', sizeAt).batchSizes!], HAND_PLAN);
  assert.deepEqual([...Timeline.ofSchedule(loader, '25sp', sizeAt).batchSizes!], HAND_PLAN);
  throwsCode(
    () => Timeline.ofSchedule(loader, '8ba', sizeAt),
    'ANNEAL_DURATION_UNITS',
    "'8ba'",
    "epochs ('3ep') or samples",
  );
});

test('with varying batches an interval is whole epochs or steps, not samples', () => {
  const tl = new Timeline({ samplesPerEpoch: 10, batchSizes: Int32Array.from(HAND_PLAN) });
  const invalid = (expected: string) => new UsageError('ANNEAL_BAD_OPTION', `expected ${expected}`);
  assert.equal(new Interval('1ep', tl, invalid).due({ epoch: 1 } as never, true), true);
  assert.equal(new Interval('2ba', tl, invalid).due({ step: 4 } as never, false), true);
  for (const d of ['12sp', '0.5ep']) {
    throwsCode(() => new Interval(d, tl, invalid), 'ANNEAL_BAD_OPTION', "whole epochs ('1ep')");
  }
  throwsCode(() => new Interval('0ba', tl, invalid), 'ANNEAL_BAD_OPTION', 'at least one step');
});
