/**
 * MORL vs successive halving vs Hyperband (issue 9): the same search space (AdamW lr, weight
 * decay, batch size) and about the same budget for each, on an MLP and an MNIST subset; each
 * search picks a configuration by validation accuracy (a split of the training subset), which is
 * then retrained at the full budget on the whole training subset and scored on the MNIST test
 * set. Repeated over search seeds (the seed sets the sampled configurations and the split).
 *
 * Budget: R = 9 epochs, r = 1 epoch, eta = 3. SHA and MORL: one bracket of 27 configurations
 * (27 x 1 + 9 x 2 + 3 x 6 = 63 epochs of training); Hyperband: all three brackets (69 epochs);
 * written to the JSON as `totalResource`. Five search seeds: 9.8 minutes on the shared 2-core
 * machine with 2 worker threads (measured minutes in the JSON). Usage: npm run bench:search [-- --smoke]
 *
 * `--queued` (npm run bench:search-queue) measures instead what running the trials on a Redis
 * queue costs against the worker-thread pool: see search-queue.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { parseSpace, runSearch, applyConfig, type SearchResult } from '../src/search/index.js';
import {
  loadRecipeInputs,
  parseRecipe,
  recipeTrainerOptions,
  type Recipe,
} from '../src/runs/recipe.js';
import { Trainer } from '../src/train/trainer.js';
import { writeResult } from './lib/results.js';
import { queuedBench } from './search-queue.js';

const smoke = process.argv.includes('--smoke');

const SCHEDULERS = ['sha', 'morl', 'hyperband'] as const;
/** Held out of the training subset to score trials (400 of 2000 samples: 0.25% steps). */
const VAL_FRACTION = 0.2;
type SchedulerName = (typeof SCHEDULERS)[number];

const config = smoke
  ? {
      limit: 500,
      testLimit: 500,
      hidden: [32],
      maxResource: 2,
      minResource: 1,
      eta: 2,
      configs: 2,
      seeds: [0],
      workers: 1,
    }
  : {
      limit: 2000,
      testLimit: 10000,
      hidden: [64],
      maxResource: 9,
      minResource: 1,
      eta: 3,
      configs: 27,
      seeds: [0, 1, 2, 3, 4],
      workers: 2,
    };

const base = parseRecipe(
  {
    data: { name: 'mnist', limit: config.limit, testLimit: config.testLimit },
    model: { name: 'mlp', options: { hidden: config.hidden } },
    optimizer: { name: 'adamw' },
    schedules: { lr: { name: 'cosine' } },
    logEvery: 1000,
  },
  { source: 'bench/search.ts' },
);

const SPACE = {
  'optimizer.lr': { type: 'loguniform', low: 1e-4, high: 0.3 },
  'optimizer.weightDecay': { type: 'loguniform', low: 1e-4, high: 1 },
  batchSize: { type: 'choice', values: [32, 64, 128, 256] },
};

export interface SearchBenchRow {
  scheduler: SchedulerName;
  seed: number;
  trials: number;
  failed: number;
  totalResource: number;
  searchSeconds: number;
  selected: Record<string, unknown> | null;
  /** Validation accuracy of the selected trial at the resource it was selected at. */
  valAccuracy: number | null;
  selectedAt: number | null;
  /** Test accuracy of the selected configuration retrained for the full budget. */
  testAccuracy: number | null;
}

/** Trains a recipe on the whole training subset for R epochs (cosine over R) and tests it. */
async function retrain(recipe: Recipe): Promise<number> {
  const inputs = await loadRecipeInputs({ ...recipe, duration: `${config.maxResource}ep` });
  const options = recipeTrainerOptions({ ...recipe, duration: `${config.maxResource}ep` }, inputs);
  const trainer = new Trainer({ ...options, evalInterval: `${config.maxResource}ep` });
  try {
    const result = await trainer.fit();
    return result.eval!.accuracy;
  } finally {
    trainer.dispose();
    for (const m of new Set([inputs.model, options.model as tfl.LayersModel])) m.dispose();
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const space = parseSpace(SPACE, 'bench space', base);
  const work = mkdtempSync(join(tmpdir(), 'anneal-bench-search-'));
  const rows: SearchBenchRow[] = [];
  try {
    // The untuned default (AdamW lr 1e-3, decay 1e-2, batch 64) at the full budget, for scale.
    const defaultAccuracy = await retrain(base);
    console.log(`default config: test accuracy ${defaultAccuracy.toFixed(4)}`);
    for (const seed of config.seeds) {
      for (const scheduler of SCHEDULERS) {
        const result: SearchResult = await runSearch({
          space,
          base,
          scheduler,
          maxResource: `${config.maxResource}ep`,
          minResource: `${config.minResource}ep`,
          eta: config.eta,
          configs: scheduler === 'hyperband' ? undefined : config.configs,
          workers: config.workers,
          valFraction: VAL_FRACTION,
          seed,
          out: join(work, `${scheduler}-${seed}`),
          overwrite: true,
        });
        const best = result.best;
        const testAccuracy = best ? await retrain(applyConfig(base, best.config)) : null;
        const row: SearchBenchRow = {
          scheduler,
          seed,
          trials: result.trials.length,
          failed: result.trials.filter((t) => t.status === 'failed').length,
          totalResource: result.totalResource,
          searchSeconds: result.seconds,
          selected: best?.config ?? null,
          valAccuracy: best?.score ?? null,
          selectedAt: best?.resource ?? null,
          testAccuracy,
        };
        rows.push(row);
        console.log(
          `${scheduler} seed ${seed}: ${row.trials} trials, ${row.totalResource.toFixed(0)} ep, ` +
            `${row.searchSeconds.toFixed(0)} s; selected ${JSON.stringify(row.selected)} ` +
            `val ${row.valAccuracy?.toFixed(4)} -> test ${testAccuracy?.toFixed(4)}`,
        );
      }
    }
    const minutes = (performance.now() - started) / 60000;
    const path = writeResult(
      'search',
      {
        config: {
          data: 'mnist',
          trainSamples: config.limit,
          testSamples: config.testLimit,
          model: `mlp ${JSON.stringify(config.hidden)}`,
          optimizer: 'adamw',
          schedule: 'cosine over the run (SHA, Hyperband); a cosine cycle per rung (MORL)',
          valFraction: VAL_FRACTION,
          minResource: config.minResource,
          maxResource: config.maxResource,
          unit: 'ep',
          eta: config.eta,
          configs: config.configs,
          workers: config.workers,
          seeds: config.seeds,
          space: SPACE,
        },
        defaultAccuracy,
        minutes,
        rows,
      },
      { smoke },
    );
    console.log(`${minutes.toFixed(1)} minutes; wrote ${path}`);
    console.log(JSON.stringify({ name: 'search', minutes, rows: rows.length }));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// --queued: the queue's overhead and scaling against the worker-thread pool (search-queue.ts).
if (process.argv.includes('--queued')) await queuedBench(smoke);
else await main();
