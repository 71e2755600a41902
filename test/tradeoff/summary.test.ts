/**
 * Curve summaries on hand-made points: means and sample deviations over seeds, the single-run vs.
 * multi-run check, the cost of each approach and recipe names.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRecipe } from '../../src/runs/recipe.js';
import {
  applyRecipeName,
  checkMultiRun,
  parseRecipeList,
  summarizeCurves,
  type CurvePoint,
} from '../../src/tradeoff/index.js';

function point(p: Partial<CurvePoint>): CurvePoint {
  return {
    recipe: 'baseline',
    seed: 0,
    run: 'single',
    cycle: 1,
    steps: 10,
    samples: 100,
    epochs: 1,
    trainSeconds: 1,
    evalSeconds: 0.1,
    accuracy: 0.5,
    loss: 1,
    ...p,
  };
}

test('seeds are summarised by mean and sample standard deviation, and checked within 2 sd', () => {
  const points = [
    // single run, two seeds, two cycles (steps 10 and 30)
    point({ seed: 1, cycle: 1, steps: 10, trainSeconds: 1, accuracy: 0.6 }),
    point({ seed: 1, cycle: 2, steps: 30, trainSeconds: 3, accuracy: 0.8 }),
    point({ seed: 2, cycle: 1, steps: 10, trainSeconds: 2, accuracy: 0.7 }),
    point({ seed: 2, cycle: 2, steps: 30, trainSeconds: 4, accuracy: 0.9 }),
    // separate runs of 10 and 30 steps per seed
    point({ seed: 1, run: 'multi', cycle: 1, steps: 10, trainSeconds: 1, accuracy: 0.64 }),
    point({ seed: 2, run: 'multi', cycle: 1, steps: 10, trainSeconds: 1, accuracy: 0.66 }),
    point({ seed: 1, run: 'multi', cycle: 2, steps: 30, trainSeconds: 3, accuracy: 0.7 }),
    point({ seed: 2, run: 'multi', cycle: 2, steps: 30, trainSeconds: 5, accuracy: 0.8 }),
  ];
  const s = summarizeCurves(points);
  const single2 = s.rows.find((r) => r.run === 'single' && r.cycle === 2)!;
  assert.ok(Math.abs(single2.accuracyMean - 0.85) < 1e-12);
  // sample sd of {0.8, 0.9}: sqrt(2 * 0.05^2 / 1) = 0.0707...
  assert.ok(Math.abs(single2.accuracySd - Math.SQRT2 * 0.05) < 1e-12);
  assert.equal(single2.trainSecondsMean, 3.5);

  const [c1, c2] = s.singleVsMulti;
  // cycle 1: single 0.65 vs multi 0.65 (sd 0.01414): difference 0, within.
  assert.ok(Math.abs(c1.difference) < 1e-12);
  assert.equal(c1.withinTwoSd, true);
  // cycle 2: single 0.85 vs multi 0.75 (sd 0.0707): 0.1 <= 0.1414, within.
  assert.ok(Math.abs(c2.difference - 0.1) < 1e-12);
  assert.equal(c2.withinTwoSd, true);

  // The single run costs its last point (3 and 4 s: 3.5); separate runs their sum (4 and 6: 5).
  const [cost] = s.cost;
  assert.equal(cost.singleSeconds, 3.5);
  assert.equal(cost.multiSeconds, 5);
  assert.ok(Math.abs(cost.ratio - 5 / 3.5) < 1e-12);
  assert.equal(cost.singleSteps, 30);
  assert.equal(cost.multiSteps, 40);

  // Only single-run rows are on the frontier; both baseline cycles are (cheaper is worse).
  assert.deepEqual(
    s.rows.filter((r) => r.frontier).map((r) => `${r.run}/${r.cycle}`),
    ['single/1', 'single/2'],
  );
});

test('a single-run point outside 2 sd of the separate runs fails the check', () => {
  const points = [
    point({ seed: 1, accuracy: 0.9 }),
    point({ seed: 1, run: 'multi', accuracy: 0.7 }),
    point({ seed: 2, run: 'multi', accuracy: 0.72 }),
  ];
  const [row] = summarizeCurves(points).singleVsMulti;
  assert.equal(row.withinTwoSd, false);
});

test('a recipe above the baseline at equal time is counted as helping there', () => {
  const points = [
    point({ cycle: 1, trainSeconds: 1, accuracy: 0.5 }),
    point({ cycle: 2, trainSeconds: 3, accuracy: 0.7 }),
    point({ recipe: 'mixup', cycle: 1, trainSeconds: 2, accuracy: 0.65 }), // baseline 0.6 there
    point({ recipe: 'mixup', cycle: 2, trainSeconds: 4, accuracy: 0.9 }), // past the baseline
  ];
  const [mixup] = summarizeCurves(points).vsBaseline;
  assert.equal(mixup.recipe, 'mixup');
  assert.equal(mixup.of, 1);
  assert.equal(mixup.helpsAt, 1);
  assert.ok(Math.abs(mixup.points[0].delta - 0.05) < 1e-12);
});

test('recipe names: methods and an optimizer joined by +, checked with clear errors', () => {
  assert.deepEqual(parseRecipeList(' baseline, label-smoothing+mixup ,momentum'), [
    'baseline',
    'label-smoothing+mixup',
    'momentum',
  ]);
  assert.throws(() => parseRecipeList('baseline,mixupp'), /unknown part 'mixupp'/);
  assert.throws(() => parseRecipeList('baseline+mixup'), /'baseline' stands alone/);
  assert.throws(() => parseRecipeList('mixup,mixup'), /'mixup' is listed twice/);
  assert.throws(() => parseRecipeList('sgd+adamw'), /more than one optimizer/);
  assert.throws(
    () => parseRecipeList('baseline,mixup+cyclical-batch-size'),
    /'cyclical-batch-size' cannot be on a tradeoff curve: it varies the batch size/,
  );
  assert.throws(() => parseRecipeList(' , '), /comma-separated list/);
  assert.throws(
    () => checkMultiRun(['baseline', 'mixup'], ['cutmix']),
    /--multi-run cutmix: not one of the compared recipes \(baseline, mixup\)/,
  );
  assert.doesNotThrow(() => checkMultiRun(['baseline', 'mixup'], ['mixup']));

  const base = parseRecipe(
    { optimizer: { name: 'adamw', lr: 0.003 }, methods: { use: ['cutmix'] } },
    { source: 'test' },
  );
  const r = applyRecipeName(base, 'momentum+label-smoothing');
  assert.equal(r.optimizer.name, 'momentum');
  // AdamW's lr does not carry over to SGD: the optimizer's default applies.
  assert.equal(r.optimizer.lr, undefined);
  assert.deepEqual(r.methods.use, ['cutmix', 'label-smoothing']);
  assert.equal(applyRecipeName(base, 'baseline'), base);
});

test('a diverged budget (non-finite loss, null in curve.json) is marked and never on the frontier', () => {
  const points = [
    point({ recipe: 'baseline', cycle: 1, trainSeconds: 2, accuracy: 0.8 }),
    // A huge lr: chance accuracy at the cheapest cost would be on the frontier if it counted.
    point({ recipe: 'hot', cycle: 1, trainSeconds: 1, accuracy: 0.1, loss: NaN }),
    point({ recipe: 'hot', cycle: 2, trainSeconds: 3, accuracy: 0.1, loss: null as never }),
  ];
  const s = summarizeCurves(points);
  assert.deepEqual(
    s.rows.filter((r) => r.diverged).map((r) => `${r.recipe}/${r.cycle}`),
    ['hot/1', 'hot/2'],
  );
  assert.deepEqual(
    s.rows.filter((r) => r.frontier).map((r) => `${r.recipe}/${r.cycle}`),
    ['baseline/1'],
  );
});
