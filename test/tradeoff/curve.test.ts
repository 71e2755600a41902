/**
 * Single-run tradeoff curves on a tiny MLP: the budgets and learning rates at the cycle
 * boundaries against the closed form B_i = T (m^i - 1) / (m - 1) and 1 - s/L, the time axis
 * (monotone, evaluation excluded), the multi-run baseline (its first run is the single run's
 * first cycle, so the two first points agree exactly), and a comparison's output files.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { createSchedule } from '../../src/schedules/index.js';
import { evaluate } from '../../src/train/evaluate.js';
import { parseRecipe } from '../../src/runs/recipe.js';
import {
  compareRecipes,
  curveLrSpec,
  lrTrace,
  planCurve,
  runMultiCurve,
  runSingleCurve,
  type CurvePoint,
} from '../../src/tradeoff/index.js';
import { tinyData, tinyEvalData, useTfCpu } from '../train/helpers.js';

before(useTfCpu);

const recipe = parseRecipe(
  {
    model: { name: 'mlp', options: { hidden: [16] } },
    optimizer: { name: 'adamw', lr: 0.01 },
    batchSize: 20,
    kernels: 'js',
    seed: 3,
  },
  { source: 'test' },
);
// 200 samples in batches of 20: 10 steps an epoch, so '0.5ep' is T = 5 steps.
const train = tinyData(200);
const test_ = tinyEvalData(60);

test('budgets are B_i = T (m^i - 1)/(m - 1) and every cycle decays linearly from the peak', () => {
  const plan = planCurve(recipe, train, { cycles: 3, firstCycle: '0.5ep', mult: 2 });
  const T = 5;
  const m = 2;
  assert.deepEqual(
    plan.budgets,
    [1, 2, 3].map((i) => (T * (m ** i - 1)) / (m - 1)),
  );
  const { schedule } = createSchedule(curveLrSpec(plan), plan.timeline.withTotal('35ba'));
  // Cycle [B_{i-1}, B_i) of length L: 1 - s/L at step B_{i-1} + s.
  for (const [start, length] of [
    [0, 5],
    [5, 10],
    [15, 20],
  ]) {
    assert.equal(schedule(start), 1, `restart at step ${start}`);
    assert.ok(Math.abs(schedule(start + length - 1) - 1 / length) < 1e-12);
    assert.ok(Math.abs(schedule(start + 2) - (1 - 2 / length)) < 1e-12);
  }
  // A multi-run baseline run of budget 15 decays once over all 15 steps.
  const one = createSchedule(curveLrSpec(plan, 15), plan.timeline.withTotal('15ba')).schedule;
  for (const s of [0, 7, 14]) assert.ok(Math.abs(one(s) - (1 - s / 15)) < 1e-12);
  // The chart's trace is the optimizer's lr times the same multiplier, at every step here.
  const trace = lrTrace(plan, 0.01);
  assert.equal(trace.length, 35);
  assert.ok(Math.abs(trace[19].lr - 0.01 * (1 - 4 / 20)) < 1e-12);
});

test('a per-cycle warmup starts every cycle from zero', () => {
  const plan = planCurve(recipe, train, {
    cycles: 2,
    firstCycle: '10ba',
    cycleWarmup: '2ba',
    mult: 1.5,
  });
  assert.deepEqual(plan.budgets, [10, 25]);
  const { schedule } = createSchedule(curveLrSpec(plan), plan.timeline.withTotal('25ba'));
  for (const start of [0, 10]) {
    assert.equal(schedule(start), 0);
    assert.equal(schedule(start + 1), 0.5);
    assert.equal(schedule(start + 2), 1);
  }
});

test('bad curve settings name the value', () => {
  assert.throws(() => planCurve(recipe, train, { cycles: 0, firstCycle: '1ep' }), /cycles = 0/);
  assert.throws(
    () => planCurve(recipe, train, { cycles: 2, firstCycle: '0.5dur' }),
    /firstCycle = '0.5dur'/,
  );
  assert.throws(
    () => planCurve(recipe, train, { cycles: 2, firstCycle: '1ep', mult: 0.5 }),
    /mult/,
  );
});

test('the time axis grows with every point and leaves evaluation out', async () => {
  const plan = planCurve(recipe, train, { cycles: 3, firstCycle: '0.5ep' });
  const pause = 0.15;
  const started = performance.now();
  const points = await runSingleCurve('baseline', recipe, plan, {
    train,
    test: test_,
    // A slow evaluation: were it counted, training time would include these pauses.
    evaluate: async (model, data) => {
      await new Promise((resolve) => setTimeout(resolve, pause * 1000));
      return evaluate(model, data);
    },
  });
  const wall = (performance.now() - started) / 1000;
  assert.deepEqual(
    points.map((p) => p.steps),
    plan.budgets,
  );
  assert.deepEqual(
    points.map((p) => p.samples),
    [5 * 20, 15 * 20, 35 * 20],
  );
  for (let i = 1; i < points.length; i++) {
    assert.ok(points[i].trainSeconds > points[i - 1].trainSeconds, 'time is monotone');
  }
  for (const p of points) assert.ok(p.evalSeconds >= pause * 0.9, `eval took ${p.evalSeconds}`);
  const evalTotal = points.reduce((a, p) => a + p.evalSeconds, 0);
  assert.ok(points[2].trainSeconds <= wall - evalTotal, 'training time excludes evaluation');
  assert.ok(points.every((p) => p.accuracy >= 0 && p.accuracy <= 1 && Number.isFinite(p.loss)));
});

test("the multi-run baseline's first run is the single run's first cycle, point for point", async () => {
  const plan = planCurve(recipe, train, { cycles: 2, firstCycle: '0.5ep' });
  const ctx = { train, test: test_ };
  const single = await runSingleCurve('baseline', recipe, plan, ctx);
  const multi = await runMultiCurve('baseline', recipe, plan, ctx);
  assert.deepEqual(
    multi.map((p) => [p.run, p.cycle, p.steps]),
    [
      ['multi', 1, 5],
      ['multi', 2, 15],
    ],
  );
  // Same initial weights, data order and schedule for the first T steps: the same model.
  assert.equal(multi[0].loss, single[0].loss);
  assert.equal(multi[0].accuracy, single[0].accuracy);
  // The second budget is trained from scratch, not continued: its own schedule, its own loss.
  assert.notEqual(multi[1].loss, single[1].loss);
});

test('a comparison writes every point of every recipe and seed to curve.json and points.csv', async () => {
  const out = mkdtempSync(join(tmpdir(), 'anneal-curve-'));
  const seen: CurvePoint[] = [];
  const result = await compareRecipes(
    {
      base: recipe,
      recipes: ['baseline', 'label-smoothing'],
      seeds: [1, 2],
      multiRun: ['baseline'],
      cycles: 2,
      firstCycle: '0.5ep',
      out,
    },
    { train, test: test_, onPoint: (p) => void seen.push(p) },
  );
  // 2 seeds x (2 recipes x 2 cycles + 2 multi-run budgets).
  assert.equal(result.points.length, 12);
  assert.equal(seen.length, 12);
  const saved = JSON.parse(readFileSync(join(out, 'curve.json'), 'utf8'));
  assert.equal(saved.complete, true);
  assert.equal(saved.points.length, 12);
  assert.deepEqual(saved.settings.budgets, [5, 15]);
  const rows = saved.summary.rows as { recipe: string; run: string; seeds: number }[];
  assert.equal(rows.length, 6);
  assert.ok(rows.every((r) => r.seeds === 2));
  assert.deepEqual(
    saved.summary.singleVsMulti.map((r: { cycle: number }) => r.cycle),
    [1, 2],
  );
  assert.equal(saved.summary.vsBaseline[0].recipe, 'label-smoothing');
  // The label-smoothing runs use it; the baseline's do not.
  assert.deepEqual(
    saved.schedules.map((s: { recipe: string; run: string }) => `${s.recipe}/${s.run}`),
    ['baseline/single', 'baseline/multi', 'baseline/multi', 'label-smoothing/single'],
  );
  const csv = readFileSync(join(out, 'points.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, 13);
  assert.equal(
    csv[0],
    'recipe,seed,run,cycle,steps,samples,epochs,trainSeconds,evalSeconds,accuracy,loss',
  );
});
