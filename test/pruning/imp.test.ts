/**
 * IMP end to end on a tiny MLP: each cycle reaches its geometric sparsity exactly, the budget is
 * split over the cycles, pruned weights are 0 in the model at the end while the kept ones
 * retrained; weight rewinding resets the kept weights to the snapshot.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { prune } from '../../src/pruning/imp.js';
import { modelWeights, tinyData, tinyEvalData, tinyMlp, useTfCpu } from '../train/helpers.js';

before(useTfCpu);

test('IMP in 3 cycles to 87.5% with SLR over a 7-batch budget', async () => {
  const model = tinyMlp([16, 8], 6);
  const start = modelWeights(model);
  const cycles: number[] = [];
  const result = await prune({
    model,
    trainData: tinyData(160, 3),
    evalData: tinyEvalData(40),
    batchSize: 16,
    kernels: 'js',
    optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9 },
    original: { duration: '2ep', schedule: { name: 'cosine' } },
    target: 0.875,
    cycles: 3,
    retrain: 'slr',
    budget: '7ba',
    onCycle: (c) => void cycles.push(c.cycle),
  });
  assert.deepEqual(cycles, [1, 2, 3]);
  // 1 - 0.125^(k/3) = 0.5, 0.75, 0.875 of the 128 prunable weights (the middle kernel).
  assert.deepEqual(
    result.cycles.map((c) => c.sparsity),
    [64 / 128, 96 / 128, 112 / 128],
  );
  assert.deepEqual(
    result.cycles.map((c) => c.retrainSteps),
    [2, 2, 3],
  );
  for (const c of result.cycles) assert.ok(Math.abs(c.prunedFraction - 0.5) < 1e-12);
  assert.equal(result.retrainSteps, 7);
  assert.equal(result.retrainEpochs, 7 / 10);
  assert.equal(result.originalSteps, 20);
  // SLR restarts at the original peak (cosine multiplier 1) after the warmup (floor(0.1*2) = 0).
  assert.equal(result.cycles[0].retrainLr, 1);
  const w = modelWeights(model);
  const pruned = [...result.mask.keys()].filter((i) => result.mask[i] === 0);
  assert.equal(pruned.length, 112);
  for (const i of pruned) assert.ok(w[i] === 0, `weight ${i} is ${w[i]}`);
  const trained = [...result.mask.keys()].filter((i) => result.mask[i] === 1 && w[i] !== start[i]);
  assert.ok(trained.length > 100, 'kept weights retrained');
  assert.equal(
    result.metrics.layers.find((l) => l.kind === 'kernel' && l.params === 128)!.kept,
    16,
  );
  assert.ok(result.cycles.every((c) => c.afterRetrain !== null && c.afterPrune !== null));
  model.dispose();
});

test('weight rewinding without retraining leaves snapshot * mask', async () => {
  const model = tinyMlp([16, 8], 7);
  const snapshot = Float32Array.from(modelWeights(tinyMlp([16, 8], 8)));
  const result = await prune({
    model,
    trainData: tinyData(64, 3),
    batchSize: 16,
    kernels: 'js',
    original: { duration: '1ep' },
    criterion: 'layer-magnitude',
    target: 0.5,
    retrainDuration: '0ba',
    rewindWeights: snapshot,
  });
  const w = modelWeights(model);
  for (let i = 0; i < w.length; i++) assert.equal(w[i], snapshot[i] * result.mask[i]);
  assert.equal(result.mask.filter((m) => m === 0).length, 64);
  model.dispose();
});

test('bad options are refused before anything changes', async () => {
  const model = tinyMlp([16, 8], 9);
  const base = {
    model,
    trainData: tinyData(32, 3),
    kernels: 'js' as const,
    original: { duration: '1ep' },
  };
  await assert.rejects(prune({ ...base, target: 1, budget: '1ba' }), /target = 1 is not valid/);
  await assert.rejects(
    prune({ ...base, target: 0.5, budget: '1ba', criterion: 'biggest' as 'random' }),
    /unknown pruning criterion "biggest"/,
  );
  await assert.rejects(prune({ ...base, target: 0.5 }), /exactly one of retrainDuration/);
  model.dispose();
});
