import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addLabelNoise, flipLabels, Rng, syntheticDataset } from '../../src/data/index.js';
import { UsageError } from '../../src/errors.js';

const labels = Int32Array.from({ length: 1000 }, (_, i) => i % 10);

test('symmetric noise: exactly round(rate n) labels wrong, spread over the other classes', () => {
  for (const rate of [0, 0.2, 0.4, 0.3333, 1]) {
    const { labels: noisy, flipped } = flipLabels(labels, 10, rate, 'symmetric', new Rng(1));
    const wrong = [...noisy.keys()].filter((i) => noisy[i] !== labels[i]);
    assert.equal(wrong.length, Math.round(rate * 1000), `rate ${rate}`);
    assert.deepEqual([...flipped], wrong);
  }
  // At 100% every class receives about 1/9 of the others' samples (transition (1 - r) / (K - 1)).
  const { labels: all } = flipLabels(labels, 10, 1, 'symmetric', new Rng(2));
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 1000; i++) if (labels[i] === 0) counts[all[i]]++;
  assert.equal(counts[0], 0);
  for (let k = 1; k < 10; k++) assert.ok(counts[k] >= 2 && counts[k] <= 25, `${counts}`);
});

test('pair-flip noise sends class k to (k + 1) mod K', () => {
  const { labels: noisy, flipped } = flipLabels(labels, 10, 0.4, 'pairflip', new Rng(3));
  assert.equal(flipped.length, 400);
  for (const i of flipped) assert.equal(noisy[i], (labels[i] + 1) % 10);
});

test('addLabelNoise copies the labels, is reproducible from its seed, and names its source', () => {
  const ds = syntheticDataset({ n: 200, numClasses: 4 });
  const before = ds.labels.slice();
  const a = addLabelNoise(ds, { rate: 0.25, seed: 5 });
  const b = addLabelNoise(ds, { rate: 0.25, seed: 5 });
  const c = addLabelNoise(ds, { rate: 0.25, seed: 6 });
  assert.deepEqual(ds.labels, before, 'the input is unchanged');
  assert.deepEqual(a.dataset.labels, b.dataset.labels);
  assert.notDeepEqual(a.flipped, c.flipped);
  assert.equal(a.flipped.length, 50);
  assert.equal(a.dataset.images, ds.images);
  assert.match(a.dataset.source!, /25\.0% symmetric label noise \(seed 5\)/);
});

test('a rate outside [0, 1] or an unknown kind is a UsageError naming it', () => {
  const ds = syntheticDataset({ n: 10 });
  for (const [opts, message] of [
    [{ rate: 1.2 }, /label noise: rate = 1.2 is not valid: expected a number in \[0, 1\]/],
    [{ rate: -0.1 }, /rate = -0.1/],
    [
      { rate: 0.1, kind: 'asym' },
      /kind = "asym" is not valid: expected one of 'symmetric', 'pairflip'/,
    ],
  ] as const) {
    assert.throws(
      () => addLabelNoise(ds, opts as never),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
    );
  }
});

test('a recipe with data.labelNoise trains on noisy labels and tests on clean ones', async () => {
  const { loadRecipeInputs, parseRecipe } = await import('../../src/runs/recipe.js');
  const recipe = (labelNoise?: object) =>
    parseRecipe(
      {
        data: { name: 'synthetic', limit: 200, testLimit: 50, labelNoise },
        model: 'mlp',
        backend: 'cpu',
      },
      { source: 'test' },
    );
  const clean = await loadRecipeInputs(recipe());
  const noisy = await loadRecipeInputs(recipe({ rate: 0.3, kind: 'pairflip' }));
  const wrong = [...noisy.train.labels.keys()].filter(
    (i) => noisy.train.labels[i] !== clean.train.labels[i],
  );
  assert.equal(wrong.length, 60);
  for (const i of wrong) assert.equal(noisy.train.labels[i], (clean.train.labels[i] + 1) % 4);
  assert.deepEqual(noisy.test.labels, clean.test.labels);
  clean.model.dispose();
  noisy.model.dispose();
  assert.throws(() => recipe({ rate: 2 }), /data\.labelNoise\.rate/);
});
