/**
 * Single-run tradeoff curves on MNIST (issue 9's results): for the small CNN, (1) the baseline's
 * single cyclic run against separate runs per budget, over 3 seeds (the accuracy difference per
 * budget against the separate runs' seed spread, and the cost of each approach), and (2) the
 * recipe comparison: baseline (AdamW), label smoothing, mixup, both, BlurPool, and SGD with
 * momentum alone and with label smoothing, each a single run per seed, with the Pareto frontier
 * of all of them.
 *
 * Budget: 4,000 training samples, 2,000 test samples, cycles of 1/8, 1/4, 1/2 and 1 epoch
 * (1.875 epochs a single run); about 12 minutes on an idle 2-core machine (run it when the machine
 * is otherwise idle: the time axis is wall-clock training time). The measured minutes
 * are in the JSON; `npm run bench:tables` makes the tables and bench/results/curve-*.svg from it.
 *
 * Usage: npm run bench:curve [-- --smoke]
 */
import { loadDataset } from '../src/data/index.js';
import { initEngine } from '../src/engine/index.js';
import { parseRecipe } from '../src/runs/recipe.js';
import { compareRecipes } from '../src/tradeoff/index.js';
import { writeResult } from './lib/results.js';

const smoke = process.argv.includes('--smoke');

const RECIPES = smoke
  ? ['baseline', 'label-smoothing']
  : [
      'baseline',
      'label-smoothing',
      'mixup',
      'label-smoothing+mixup',
      'blurpool',
      'momentum',
      'momentum+label-smoothing',
    ];
const SEEDS = smoke ? [0] : [0, 1, 2];
const TRAIN = smoke ? 640 : 4000;
const TEST = smoke ? 200 : 2000;

async function main(): Promise<void> {
  const started = performance.now();
  const engine = await initEngine({ backend: 'auto' });
  const base = parseRecipe(
    { data: 'mnist', model: 'cnn', optimizer: 'adamw', batchSize: 64 },
    { source: 'bench/curve.ts' },
  );
  const train = await loadDataset('mnist', { split: 'train', limit: TRAIN });
  const test = await loadDataset('mnist', { split: 'test', limit: TEST });
  const result = await compareRecipes(
    {
      base,
      recipes: RECIPES,
      seeds: SEEDS,
      multiRun: ['baseline'],
      cycles: 4,
      firstCycle: '0.125ep',
    },
    {
      train,
      test,
      onRunStart: ({ recipe, seed, run, index, of }) =>
        console.log(`[${index + 1}/${of}] ${recipe} seed ${seed} (${run})`),
      onPoint: (p) =>
        console.log(
          `  ${p.run === 'single' ? 'cycle' : 'run'} ${p.cycle}: ${p.epochs.toFixed(3)} ep, ` +
            `${p.trainSeconds.toFixed(1)} s, accuracy ${p.accuracy.toFixed(4)}`,
        ),
    },
  );
  const minutes = (performance.now() - started) / 60000;
  const { summary, settings } = result;
  for (const r of summary.singleVsMulti) {
    console.log(
      `budget ${r.cycle}: single ${r.single.toFixed(4)} ± ${r.singleSd.toFixed(4)} vs separate ` +
        `${r.multi.toFixed(4)} ± ${r.multiSd.toFixed(4)} (${r.withinTwoSd ? 'within' : 'outside'} 2 sd)`,
    );
  }
  writeResult(
    'curve',
    {
      config: {
        data: 'mnist',
        model: base.model.name,
        optimizer: base.optimizer.name,
        tfjsBackend: engine.backend,
        ...settings,
      },
      minutes,
      points: result.points,
      summary,
    },
    { smoke },
  );
  console.log(`bench:curve done in ${minutes.toFixed(1)} min`);
}

await main();
