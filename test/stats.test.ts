/** The mean, sample std and paired difference every benchmark reports, on hand-worked values. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maxOf, mean, minOf, pairedMeanDifference, std } from '../src/stats.js';
import { previewSchedule } from '../src/schedules/index.js';
import { Timeline } from '../src/time/index.js';

test('mean and sample std (n - 1) of 2, 4, 4, 4, 5, 5, 7, 9', () => {
  const xs = [2, 4, 4, 4, 5, 5, 7, 9];
  assert.equal(mean(xs), 5);
  // Squared deviations sum to 32; 32 / 7.
  assert.equal(std(xs), Math.sqrt(32 / 7));
  assert.equal(std([3]), 0);
});

test('the paired difference pairs by key, not by position, and needs every pair', () => {
  const method = new Map([
    [2, 0.9],
    [0, 0.5],
  ]);
  const baseline = new Map([
    [0, 0.25],
    [1, 0.0],
    [2, 0.7],
  ]);
  // (0.5 - 0.25 + 0.9 - 0.7) / 2 = 0.225; baseline seed 1 has no partner and is not used.
  assert.ok(Math.abs(pairedMeanDifference(method, baseline) - 0.225) < 1e-12);
  assert.throws(() => pairedMeanDifference(new Map([[5, 1]]), baseline), /key 5 has no pair/);
});

test('minOf and maxOf take arrays far longer than a call takes arguments', () => {
  // 300,000 values: Math.min(...xs) throws RangeError here. The extremes are placed by hand.
  const xs = new Float64Array(300_000).fill(1);
  xs[123_456] = -2;
  xs[299_999] = 7;
  assert.equal(minOf(xs), -2);
  assert.equal(maxOf(xs), 7);
  assert.equal(minOf([]), Infinity);
  assert.equal(maxOf([]), -Infinity);
  assert.ok(Number.isNaN(minOf([1, NaN, 0])), 'NaN propagates, as in Math.min');
});

test('a schedule preview of 150,000 steps does not overflow the stack', () => {
  const preview = previewSchedule({ name: 'cosine' }, new Timeline({ totalSteps: 150_000 }));
  assert.equal(preview.value.length, 150_000);
  // Cosine annealing from 1 to 0: 1 at step 0, its least value at the last step.
  assert.equal(preview.max, 1);
  assert.equal(preview.min, preview.value[149_999]);
});
