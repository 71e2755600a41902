/**
 * The pruning results (bench/pruning.ts): accuracy against sparsity and training cost, and the
 * per-step cost of a mask in force. Written into src/pruning/README.md.
 */
import {
  fixed,
  markdownTable,
  percent,
  provenance,
  type ChartsRenderer,
  type Renderer,
  type ResultBase,
} from '../lib/tables.js';
import { accuracySparsityChart, type ChartSpec } from '../../src/report/charts.js';
import type { PruningRow } from '../pruning.js';

export type { PruningRow } from '../pruning.js';

export interface PruningResult extends ResultBase {
  config: {
    trainSamples: number;
    testSamples: number;
    model: { name: string; filters?: number[]; denseUnits?: number };
    batchSize: number;
    optimizer: { name: string; lr: number; momentum?: number; weightDecay?: number };
    originalEpochs: number;
    seeds: number[];
    imp: { target: number; cycles: number; budgetEpochs: number };
    oneShot: { fineTuneEpochs: number };
    tfjsBackend: string;
    kernelsUsed: string;
  };
  budget: { totalMinutes: number; cpuMinutes?: number };
  rows: PruningRow[];
  overhead: {
    model: string;
    params: number;
    batchSize: number;
    denseStepMs: number;
    maskedStepMs: number;
    stepDifference: number;
    applyMaskMs: number;
    optimizerStepMs: number;
    maskedOptimizerStepMs: number;
    maskMs: number;
    maskFraction: number;
  };
}

const GROUPS: Record<PruningRow['group'], string> = {
  dense: 'dense',
  'one-shot': 'one-shot + FT',
  imp: 'same retraining budget',
  gradual: 'during training',
};

function renderPruning(r: PruningResult): string {
  const c = r.config;
  const accuracy = (row: PruningRow) =>
    `${percent(row.meanTop1, 2)} ± ${fixed(100 * row.stdTop1, 2)}`;
  const table = markdownTable(
    [
      'group',
      'experiment',
      'sparsity',
      'top-1 after pruning',
      'top-1 final',
      'top-5 final',
      'FLOPs speedup',
      'compression',
      'cost (epochs)',
    ],
    r.rows.map((row) => [
      GROUPS[row.group],
      row.label,
      percent(row.sparsity, 0),
      row.meanPrunedTop1 === null ? '–' : percent(row.meanPrunedTop1, 2),
      accuracy(row),
      percent(row.meanTop5, 2),
      `${fixed(row.speedup, 2)}x`,
      `${fixed(row.compression, 2)}x`,
      fixed(row.costEpochs, 0),
    ]),
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
  const o = r.overhead;
  const model = `${c.model.name}${c.model.filters ? ` (${c.model.filters.join(', ')} filters, ${c.model.denseUnits} units)` : ''}`;
  return [
    `MNIST ${c.trainSamples} train / ${c.testSamples} test samples, ${model}, ${c.optimizer.name} ` +
      `lr ${c.optimizer.lr}${c.optimizer.momentum ? ` momentum ${c.optimizer.momentum}` : ''}, ` +
      `batch ${c.batchSize}; dense run ${c.originalEpochs} epochs (lr / 10 at 50% and 75%); ` +
      `mean ± sd over ${c.seeds.length} seed(s). Sparsity is of the prunable weights (kernels but ` +
      `the first and last layer); IMP: ${c.imp.cycles} cycles to ${percent(c.imp.target, 0)}, ` +
      `${c.imp.budgetEpochs} retraining epochs in all; cost = dense run + retraining. ` +
      `${fixed(r.budget.totalMinutes, 1)} min in all` +
      (r.budget.cpuMinutes === undefined ? '' : ` (${fixed(r.budget.cpuMinutes, 1)} CPU min)`) +
      ` (${c.tfjsBackend} tfjs, ${c.kernelsUsed} kernels).`,
    '',
    table,
    '',
    markdownTable(
      ['per-step cost', 'value'],
      [
        ['model', `${o.model}, ${o.params.toLocaleString('en')} params, batch ${o.batchSize}`],
        ['train step, no mask', `${fixed(o.denseStepMs, 1)} ms`],
        [
          'train step, mask in force',
          `${fixed(o.maskedStepMs, 1)} ms (${percent(o.stepDifference, 1)}; load-dependent)`,
        ],
        ['gradient masking, timed alone', `${fixed(o.applyMaskMs, 3)} ms`],
        [
          'fused optimizer step, without / with the mask',
          `${fixed(o.optimizerStepMs, 3)} / ${fixed(o.maskedOptimizerStepMs, 3)} ms`,
        ],
        [
          "the mask's work per step",
          `${fixed(o.maskMs, 3)} ms = ${percent(o.maskFraction, 2)} of a step`,
        ],
      ],
    ),
    '',
    provenance(r),
  ].join('\n');
}

/**
 * Accuracy against sparsity: one line per one-shot criterion over its sparsities (seeds as the
 * band), the IMP retraining schedules and gradual pruning at their target, the dense model as
 * a rule. Random pruning is left to the table.
 */
function pruningCharts(r: PruningResult): Record<string, ChartSpec> {
  const dense = r.rows.find((row) => row.group === 'dense');
  const points = r.rows
    // Random pruning (35% at 90%) is in the table; on the chart it would flatten the rest.
    .filter((row) => row.group !== 'dense' && !row.label.startsWith('random'))
    .flatMap((row) =>
      row.runs.map((run) => ({
        method: row.group === 'one-shot' ? `one-shot ${row.label}` : row.label,
        sparsity: row.sparsity,
        accuracy: run.top1,
        seed: run.seed,
      })),
    );
  return {
    'pruning-accuracy-vs-sparsity': accuracySparsityChart(points, {
      dense: dense?.meanTop1,
      title: `top-1 after retraining (${r.config.model.name}, ${r.config.trainSamples} MNIST samples)`,
      width: 420,
      height: 320,
    }),
  };
}

export const renderers: Record<string, Renderer> = { pruning: renderPruning };
export const charts: Record<string, ChartsRenderer> = { pruning: pruningCharts };
