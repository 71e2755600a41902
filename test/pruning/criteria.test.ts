/**
 * Pruning criteria against a sort written out here: the `count` smallest scores over the
 * prunable segments, ties to the lowest flat index, on every kernel backend present.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  computeMask,
  prunableSegments,
  type PruningCriterion,
} from '../../src/pruning/criteria.js';
import type { ParamSegment, ParamVector } from '../../src/engine/param-vector.js';
import type { FlatOps } from '../../src/kernels/index.js';
import { KERNEL_BACKENDS, useTfCpu, vectorOf } from '../optim/helpers.js';

before(useTfCpu);

/** Values from a small set, so ties are everywhere; signs alternate so |w| matters. */
const tied = (n: number, salt: number) =>
  Array.from({ length: n }, (_, i) => (((i * 7 + salt) % 5) - 2) * 0.25 * (i % 2 ? -1 : 1));

function fourLayers(ops: FlatOps): ParamVector {
  return vectorOf(ops, {
    'in/kernel': { shape: [3, 4], values: tied(12, 1) },
    'in/bias': { shape: [4], values: [0.1, 0, -0.2, 0.3] },
    'h1/kernel': { shape: [4, 5], values: tied(20, 2) },
    'h1/bias': { shape: [5], values: [0, 0, 0, 0, 0] },
    'h2/kernel': { shape: [5, 6], values: tied(30, 3) },
    'h2/bias': { shape: [6], values: [1, 1, 1, 1, 1, 1] },
    'out/kernel': { shape: [6, 2], values: tied(12, 4) },
    'out/bias': { shape: [2], values: [0, 0] },
  }).pv;
}

/** Indices pruned by a sort of (score, index) over the segments. */
function sortPruned(score: (i: number) => number, segments: ParamSegment[], count: number) {
  const entries = segments.flatMap((s) => Array.from({ length: s.length }, (_, j) => s.offset + j));
  entries.sort((a, b) => score(a) - score(b) || a - b);
  return new Set(entries.slice(0, count));
}

function prunedIndices(mask: Float32Array): Set<number> {
  return new Set([...mask.keys()].filter((i) => mask[i] === 0));
}

for (const backend of KERNEL_BACKENDS) {
  test(
    `${backend.name}: default prunable = kernels but the first and last`,
    { skip: backend.skip },
    () => {
      const ops = backend.create();
      const pv = fourLayers(ops);
      assert.deepEqual(
        prunableSegments(pv).map((s) => s.name.replace(/^t\d+_/, '')),
        ['h1/kernel', 'h2/kernel'],
      );
      assert.equal(prunableSegments(pv, { includeFirst: true, includeLast: true }).length, 4);
      assert.deepEqual(
        prunableSegments(pv, { exclude: ['h2'] }).map((s) => s.name.replace(/^t\d+_/, '')),
        ['h1/kernel'],
      );
      pv.dispose();
      ops.dispose();
    },
  );

  test(
    `${backend.name}: global magnitude equals the sort, ties to the lowest index`,
    { skip: backend.skip },
    () => {
      const ops = backend.create();
      const pv = fourLayers(ops);
      const w = ops.download(pv.params);
      const segments = prunableSegments(pv);
      for (const sparsity of [0.1, 0.34, 0.5, 0.9]) {
        const mask = computeMask(pv, { criterion: 'global-magnitude', sparsity, segments });
        const count = Math.round(sparsity * 50);
        assert.deepEqual(
          prunedIndices(mask),
          sortPruned((i) => Math.abs(w[i]), segments, count),
        );
        // Outside the prunable segments everything is kept.
        const inside = new Set(
          segments.flatMap((s) => [...Array(s.length)].map((_, j) => s.offset + j)),
        );
        for (let i = 0; i < mask.length; i++) if (!inside.has(i)) assert.equal(mask[i], 1);
      }
      pv.dispose();
      ops.dispose();
    },
  );

  test(
    `${backend.name}: layer-wise magnitude reaches the target in every layer`,
    { skip: backend.skip },
    () => {
      const ops = backend.create();
      const pv = fourLayers(ops);
      const w = ops.download(pv.params);
      const segments = prunableSegments(pv, { includeFirst: true, includeLast: true });
      const mask = computeMask(pv, { criterion: 'layer-magnitude', sparsity: 0.5, segments });
      for (const s of segments) {
        const expected = sortPruned((i) => Math.abs(w[i]), [s], Math.round(0.5 * s.length));
        const got = new Set(
          [...prunedIndices(mask)].filter((i) => i >= s.offset && i < s.offset + s.length),
        );
        assert.deepEqual(got, expected, s.name);
        assert.equal(got.size, Math.round(0.5 * s.length));
      }
      pv.dispose();
      ops.dispose();
    },
  );

  test(`${backend.name}: gradient-times-magnitude scores |w g|`, { skip: backend.skip }, () => {
    const ops = backend.create();
    const pv = fourLayers(ops);
    const w = ops.download(pv.params);
    const g = Float32Array.from({ length: pv.length }, (_, i) => ((i * 13) % 7) - 3);
    const segments = prunableSegments(pv);
    for (const criterion of [
      'global-gradient-magnitude',
      'layer-gradient-magnitude',
    ] as PruningCriterion[]) {
      const mask = computeMask(pv, { criterion, sparsity: 0.6, segments, gradient: g });
      const score = (i: number) => Math.abs(Math.fround(w[i] * g[i]));
      const expected = criterion.startsWith('global')
        ? sortPruned(score, segments, 30)
        : new Set(segments.flatMap((s) => [...sortPruned(score, [s], Math.round(0.6 * s.length))]));
      assert.deepEqual(prunedIndices(mask), expected, criterion);
    }
    assert.throws(
      () => computeMask(pv, { criterion: 'global-gradient-magnitude', sparsity: 0.5 }),
      /needs a gradient/,
    );
    pv.dispose();
    ops.dispose();
  });

  test(`${backend.name}: random prunes exactly the count, seeded`, { skip: backend.skip }, () => {
    const ops = backend.create();
    const pv = fourLayers(ops);
    const a = computeMask(pv, { criterion: 'random', sparsity: 0.5, seed: 1 });
    const b = computeMask(pv, { criterion: 'random', sparsity: 0.5, seed: 1 });
    const c = computeMask(pv, { criterion: 'random', sparsity: 0.5, seed: 2 });
    assert.equal(prunedIndices(a).size, 25);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    pv.dispose();
    ops.dispose();
  });
}

test('masks only grow: weights pruned before stay pruned, even against kept zeros', () => {
  const ops = KERNEL_BACKENDS[0].create();
  const pv = fourLayers(ops);
  const segments = prunableSegments(pv);
  const last = segments[segments.length - 1];
  // A previous mask that pruned the last 5 (high-index, non-zero) weights of h2.
  const first = new Float32Array(pv.length).fill(1);
  for (let i = last.offset + last.length - 5; i < last.offset + last.length; i++) first[i] = 0;
  pv.setMask(first); // they are now 0, tied with the kept zeros at lower indices
  const w = ops.download(pv.params);
  const keptZeros = segments
    .flatMap((s) => [...Array(s.length)].map((_, j) => s.offset + j))
    .filter((i) => w[i] === 0 && first[i] === 1);
  assert.ok(keptZeros.length >= 5, 'the fixture has kept weights equal to 0 at lower indices');
  const second = computeMask(pv, { criterion: 'global-magnitude', sparsity: 0.2, segments });
  for (const i of prunedIndices(first)) assert.equal(second[i], 0, `weight ${i} revived`);
  assert.equal(prunedIndices(second).size, 10);
  // The 5 others are the sort's 5 smallest among the kept weights.
  const kept = segments.map((s) => s); // same segments, previous entries excluded below
  const expected = sortPruned((i) => (first[i] === 0 ? Infinity : Math.abs(w[i])), kept, 5);
  for (const i of expected) assert.equal(second[i], 0);
  // A lower sparsity than already pruned keeps the mask as it is.
  const lower = computeMask(pv, { criterion: 'global-magnitude', sparsity: 0.04, segments });
  assert.deepEqual(lower, first);
  pv.dispose();
  ops.dispose();
});
