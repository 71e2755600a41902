/**
 * Pareto frontiers and equal-cost comparisons on hand-made points whose answers are worked out
 * here by eye.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareAtEqualCost, interpolate, paretoFrontier } from '../../src/tradeoff/index.js';

interface P {
  id: string;
  t: number;
  acc: number;
}

test('the Pareto frontier keeps exactly the points nothing cheaper-and-better dominates', () => {
  const points: P[] = [
    { id: 'a', t: 1, acc: 0.5 },
    { id: 'b', t: 2, acc: 0.7 },
    { id: 'c', t: 2, acc: 0.6 }, // same cost as b, less accurate: dominated
    { id: 'd', t: 3, acc: 0.65 }, // dearer than b and worse: dominated
    { id: 'e', t: 4, acc: 0.9 },
    { id: 'f', t: 5, acc: 0.9 }, // as accurate as e but dearer: dominated
    { id: 'g', t: 0.5, acc: 0.2 },
    { id: 'h', t: 6, acc: 0.95 },
    { id: 'i', t: 4, acc: 0.9 }, // an exact duplicate of e: the first one is kept
  ];
  const frontier = paretoFrontier(
    points,
    (p) => p.t,
    (p) => p.acc,
  ).map((p) => p.id);
  assert.deepEqual(frontier, ['g', 'a', 'b', 'e', 'h']);
});

test('points with a non-finite cost or accuracy are left off the frontier', () => {
  const points: P[] = [
    { id: 'a', t: 1, acc: 0.5 },
    { id: 'nan', t: 0.1, acc: NaN },
    { id: 'inf', t: Infinity, acc: 1 },
  ];
  assert.deepEqual(
    paretoFrontier(
      points,
      (p) => p.t,
      (p) => p.acc,
    ).map((p) => p.id),
    ['a'],
  );
});

test('interpolation is linear between points and undefined outside the range', () => {
  const curve = [
    { x: 4, y: 0.8 },
    { x: 1, y: 0.2 },
    { x: 2, y: 0.6 },
  ];
  assert.equal(interpolate(curve, 1), 0.2);
  assert.ok(Math.abs(interpolate(curve, 1.5)! - 0.4) < 1e-12);
  assert.ok(Math.abs(interpolate(curve, 3)! - 0.7) < 1e-12);
  assert.equal(interpolate(curve, 4), 0.8);
  assert.equal(interpolate(curve, 0.5), undefined);
  assert.equal(interpolate(curve, 5), undefined);
});

test('a recipe helps where its curve lies above the reference at equal cost', () => {
  const reference = [
    { x: 1, y: 0.5 },
    { x: 3, y: 0.9 },
  ];
  const other = [
    { x: 0.5, y: 0.9 }, // before the reference starts: not compared
    { x: 2, y: 0.75 }, // reference there: 0.7 -> +0.05
    { x: 3, y: 0.85 }, // reference 0.9 -> -0.05
  ];
  const compared = compareAtEqualCost(reference, other);
  assert.deepEqual(
    compared.map((c) => c.x),
    [2, 3],
  );
  assert.ok(Math.abs(compared[0].reference - 0.7) < 1e-12);
  assert.ok(Math.abs(compared[0].delta - 0.05) < 1e-12);
  assert.ok(Math.abs(compared[1].delta + 0.05) < 1e-12);
});
