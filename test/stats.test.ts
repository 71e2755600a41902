/** The mean, sample std and paired difference every benchmark reports, on hand-worked values. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mean, pairedMeanDifference, std } from '../src/stats.js';

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
