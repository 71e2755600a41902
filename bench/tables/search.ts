/**
 * The multi-fidelity search comparison (bench/search.ts): per scheduler, the budget it trained
 * and the test accuracy of the configuration it picked, retrained at the full budget (mean ± sd
 * over search seeds); then every seed's pick. Written into src/search/README.md.
 */
import type { SearchBenchRow } from '../search.js';
import type { QueueOverheadRow, QueueScalingRow } from '../search-queue.js';
import {
  fixed,
  markdownTable,
  meanSpread,
  provenance,
  sci,
  type Renderer,
  type ResultBase,
} from '../lib/tables.js';
import { mean } from '../../src/stats.js';

export interface SearchBenchResult extends ResultBase {
  config: {
    trainSamples: number;
    testSamples: number;
    valFraction: number;
    model: string;
    minResource: number;
    maxResource: number;
    unit: string;
    eta: number;
    configs: number;
    workers: number;
    seeds: number[];
  };
  defaultAccuracy: number;
  minutes: number;
  rows: SearchBenchRow[];
}

const LABELS: Record<string, string> = {
  sha: 'successive halving',
  morl: 'MORL (lr cycle per rung)',
  hyperband: 'Hyperband',
};

function renderSearch(r: SearchBenchResult): string {
  const c = r.config;
  const schedulers = [...new Set(r.rows.map((row) => row.scheduler))];
  const num = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null);
  const summary = markdownTable(
    [
      'scheduler',
      `trained (${c.unit})`,
      'trials',
      'search s',
      'val acc of pick',
      `test acc, pick retrained ${c.maxResource}${c.unit}`,
    ],
    schedulers.map((s) => {
      const rows = r.rows.filter((row) => row.scheduler === s);
      return [
        LABELS[s] ?? s,
        fixed(mean(rows.map((row) => row.totalResource)), 0),
        fixed(mean(rows.map((row) => row.trials)), 0),
        fixed(mean(rows.map((row) => row.searchSeconds)), 0),
        meanSpread(num(rows.map((row) => row.valAccuracy)), 2, 100),
        meanSpread(num(rows.map((row) => row.testAccuracy)), 2, 100),
      ];
    }),
  );
  const picks = markdownTable(
    [
      'seed',
      'scheduler',
      'lr',
      'weight decay',
      'batch',
      `picked at (${c.unit})`,
      'val acc',
      'test acc',
    ],
    r.rows.map((row) => [
      String(row.seed),
      LABELS[row.scheduler] ?? row.scheduler,
      sci(row.selected?.['optimizer.lr'] as number | undefined),
      sci(row.selected?.['optimizer.weightDecay'] as number | undefined),
      row.selected ? String(row.selected.batchSize) : '–',
      fixed(row.selectedAt, 0),
      fixed(row.valAccuracy === null ? null : 100 * row.valAccuracy, 2),
      fixed(row.testAccuracy === null ? null : 100 * row.testAccuracy, 2),
    ]),
  );
  const seeds = [...new Set(r.rows.map((row) => row.seed))];
  const pick = (s: string, seed: number) =>
    JSON.stringify(r.rows.find((row) => row.scheduler === s && row.seed === seed)?.selected);
  const differ = seeds.filter((seed) => pick('morl', seed) !== pick('sha', seed)).length;
  const comparison =
    schedulers.includes('morl') && schedulers.includes('sha')
      ? ` MORL and successive halving picked different configurations in ${differ} of ${seeds.length} seeds.`
      : '';
  return [
    `MNIST, ${c.trainSamples} training samples (${fixed(100 * c.valFraction, 0)}% held out to score trials; the retraining uses all of them), ` +
      `${c.testSamples} test samples; ${c.model}, AdamW; rungs from ${c.minResource} to ${c.maxResource} ${c.unit}, ` +
      `eta ${c.eta}, ${c.configs} configurations for successive halving and MORL (Hyperband: all brackets); ` +
      `${c.workers} worker threads; ${r.rows.length / Math.max(1, schedulers.length)} search seeds. ` +
      `Accuracies in %, mean ± sd over seeds. The untuned default (lr 1e-3, decay 1e-2, batch 64) ` +
      `reaches ${fixed(100 * r.defaultAccuracy, 2)}% at the full budget.${comparison} ` +
      `The whole run took ${fixed(r.minutes, 1)} minutes.`,
    '',
    summary,
    '',
    picks,
    '',
    provenance(r),
  ].join('\n');
}

export interface SearchQueueResult extends ResultBase {
  config: {
    recipe: {
      data: { name: string; limit: number };
      model: { name: string; options: { hidden: number[] } };
      batchSize: number;
    };
    configs: number;
    resources: { min: number; max: number; eta: number; unit: string };
    cores: number;
    overheadJobs: number;
  };
  overhead: QueueOverheadRow[];
  scaling: QueueScalingRow[];
  minutes: number;
}

/** The queued mode (bench/search-queue.ts): the queue's cost per trial and scaling by workers. */
function renderSearchQueue(r: SearchQueueResult): string {
  const c = r.config;
  const pool = r.overhead.find((o) => o.executor === 'threads')!;
  const queue = r.overhead.find((o) => o.executor === 'queue')!;
  const cost = queue.msPerTrial - pool.msPerTrial;
  // The larger of the two measures of the queue's cost, against a 10-second trial.
  const worst = Math.max(cost, queue.roundTripMinusProcessingMs ?? 0);
  const overhead = markdownTable(
    [
      'executor',
      'one-step trials',
      'ms per trial',
      'queue cost per trial (ms)',
      'of a 10 s trial (larger cost)',
    ],
    r.overhead.map((o) => [
      o.executor === 'threads' ? 'worker-thread pool (1 thread)' : 'Redis queue (1 anneal worker)',
      String(o.jobs),
      fixed(o.msPerTrial, 1),
      o.executor === 'queue'
        ? `${fixed(cost, 1)} (round trip minus processing: ${fixed(o.roundTripMinusProcessingMs, 1)})`
        : '–',
      o.executor === 'queue' ? `${fixed((100 * worst) / 10000, 2)}%` : '–',
    ]),
  );
  const base = r.scaling.find((x) => x.executor === 'threads' && x.workers === 1);
  const picks = new Set(r.scaling.map((x) => `${x.bestTrial}`));
  const scaling = markdownTable(
    ['executor', 'workers', 'anneal-cpu threads each', 'jobs', 'wall (s)', 'vs 1 worker thread'],
    r.scaling.map((x) => [
      x.executor === 'threads' ? 'worker-thread pool' : 'Redis queue, anneal worker processes',
      String(x.workers),
      String(x.threadsPerWorker),
      String(x.jobs),
      fixed(x.wallSeconds, 1),
      base ? `${fixed(base.wallSeconds / x.wallSeconds, 2)}x` : '–',
    ]),
  );
  return [
    `${c.recipe.data.name}, ${c.recipe.data.limit} training samples, mlp ${JSON.stringify(c.recipe.model.options.hidden)}, ` +
      `batch ${c.recipe.batchSize}; successive halving of ${c.configs} configurations from ` +
      `${c.resources.min} to ${c.resources.max} ${c.resources.unit} (eta ${c.resources.eta}); ` +
      `${c.cores} cores; redis-server on loopback. Overhead: ${c.overheadJobs} one-step trials one ` +
      `after another through each executor (the same work: the difference is the queue's cost). ` +
      `Every row of the sweep picked ${picks.size === 1 ? 'the same' : 'a different'} trial. ` +
      `The whole run took ${fixed(r.minutes, 1)} minutes.`,
    '',
    overhead,
    '',
    scaling,
    '',
    provenance(r),
  ].join('\n');
}

export const renderers: Record<string, Renderer> = {
  search: renderSearch,
  'search-queue': renderSearchQueue,
};
