/**
 * The ViT stem study under the evidence protocol (bench/vit-stem.ts): the protocol's table (arms,
 * the paired verdict on the grid mean), then every cell of the grid (optimizer x lr) per stem,
 * mean ± sd over seeds, with the paired conv - patchify difference, and each stem's robustness
 * summaries (best and worst cell, spread, mean per optimizer, optimizer gap) with their paired
 * differences, reported without a verdict. The chart is bench/results/vit-stem-grid.svg.
 */
import type { ChartSpec } from '../../src/report/charts.js';
import { mean } from '../../src/stats.js';
import {
  intervalText,
  pairedValues,
  renderProtocol,
  type ProtocolResult,
  type RunRecord,
} from '../lib/experiment.js';
import {
  markdownTable,
  meanSpread,
  sci,
  type ChartsRenderer,
  type Renderer,
  type ResultBase,
} from '../lib/tables.js';

/** What bench/vit-stem.ts keeps in each record's `extra`. */
interface VitStemExtra {
  cells: { optimizer: string; lr: number; accuracy: number; loss: number | null }[];
  best: number;
  worst: number;
  spread: number;
  meanAdamw: number;
  meanSgd: number;
  bestAdamw: number;
  bestSgd: number;
  optimizerGap: number;
  stepsPerCell: number;
}

const extraOf = (x: RunRecord) => x.extra as unknown as VitStemExtra;
const runsOf = (r: ProtocolResult, arm: string) => r.records.filter((x) => x.arm === arm);
const OPTIMIZER_LABEL: Record<string, string> = { adamw: 'AdamW', momentum: 'SGD momentum' };
const label = (optimizer: string) => OPTIMIZER_LABEL[optimizer] ?? optimizer;

/** The grid's cells in the order recorded (optimizer, lr). */
function gridOf(r: ProtocolResult): { optimizer: string; lr: number }[] {
  const first = r.records[0];
  return first ? extraOf(first).cells.map(({ optimizer, lr }) => ({ optimizer, lr })) : [];
}

/** Accuracy of cell (optimizer, lr) in one record (NaN when absent). */
function cellOf(x: RunRecord, optimizer: string, lr: number): number {
  return extraOf(x).cells.find((c) => c.optimizer === optimizer && c.lr === lr)?.accuracy ?? NaN;
}

function renderVitStem(r: ProtocolResult & ResultBase): string {
  if (!Array.isArray(r.records)) {
    return 'Legacy result (single seed, before the evidence protocol): rerun `npx tsx bench/vit-stem.ts`.';
  }
  const grid = gridOf(r);
  if (grid.length === 0) return renderProtocol(r);
  const arms = r.protocol.arms.map((a) => a.name);
  const { arm, baseline } = r.protocol.claim.primary;
  const diffHeader = `${arm} - ${baseline} (points) [95% CI]`;
  const cells = markdownTable(
    ['optimizer', 'lr', ...arms.map((a) => `${a} (%)`), diffHeader],
    grid.map(({ optimizer, lr }) => [
      label(optimizer),
      sci(lr),
      ...arms.map((a) => meanSpread(runsOf(r, a).map((x) => cellOf(x, optimizer, lr)))),
      intervalText(pairedValues(r, arm, baseline, (x) => cellOf(x, optimizer, lr))),
    ]),
    ['l', 'r', ...arms.map(() => 'r' as const), 'r'],
  );
  const summaries: [string, (e: VitStemExtra) => number][] = [
    ['best cell (%)', (e) => e.best],
    ['worst cell (%)', (e) => e.worst],
    ['spread: best - worst (points)', (e) => e.spread],
    ['mean over the AdamW lrs (%)', (e) => e.meanAdamw],
    ['mean over the SGD lrs (%)', (e) => e.meanSgd],
    ['optimizer gap: best AdamW - best SGD (points)', (e) => e.optimizerGap],
  ];
  const summary = markdownTable(
    ['summary (per seed)', ...arms.map((a) => a), diffHeader],
    summaries.map(([name, value]) => [
      name,
      ...arms.map((a) => meanSpread(runsOf(r, a).map((x) => value(extraOf(x))))),
      intervalText(pairedValues(r, arm, baseline, (x) => value(extraOf(x)))),
    ]),
    ['l', ...arms.map(() => 'r' as const), 'r'],
  );
  const steps = extraOf(r.records[0]).stepsPerCell;
  return [
    renderProtocol(r),
    `Test accuracy in each cell of the grid (${steps} steps a cell), mean ± sd over seeds, and the paired difference (reported without a verdict; the primary metric is the mean of these cells):`,
    cells,
    "Each stem's robustness per seed (smaller spread and gap: more robust), mean ± sd over seeds, and the paired difference (no verdict):",
    summary,
  ].join('\n\n');
}

/** Test accuracy against the learning rate, mean over seeds: one line per stem and optimizer. */
function vitStemCharts(r: ProtocolResult): Record<string, ChartSpec> {
  if (!Array.isArray(r.records)) return {};
  const rows: { stem: string; optimizer: string; lr: number; accuracy: number }[] = [];
  for (const arm of r.protocol.arms.map((a) => a.name)) {
    for (const { optimizer, lr } of gridOf(r)) {
      const xs = runsOf(r, arm)
        .map((x) => cellOf(x, optimizer, lr))
        .filter((x) => Number.isFinite(x));
      if (xs.length > 0) {
        rows.push({ stem: arm, optimizer: label(optimizer), lr, accuracy: mean(xs) });
      }
    }
  }
  if (rows.length === 0) return {};
  return {
    'vit-stem-grid': {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: `${r.protocol.claim.paper}: test accuracy over the lr grid, per stem and optimizer`,
      width: 400,
      height: 260,
      background: 'white',
      data: { values: rows },
      mark: { type: 'line', point: true, tooltip: true },
      config: { legend: { labelLimit: 300 } },
      encoding: {
        x: { field: 'lr', type: 'quantitative', scale: { type: 'log' }, title: 'learning rate' },
        y: {
          field: 'accuracy',
          type: 'quantitative',
          title: 'test accuracy (%), mean over seeds',
          scale: { zero: false },
        },
        color: { field: 'stem', type: 'nominal', title: 'stem' },
        strokeDash: { field: 'optimizer', type: 'nominal', title: 'optimizer' },
      },
    } as ChartSpec,
  };
}

export const renderers: Record<string, Renderer> = { 'vit-stem': renderVitStem };
export const charts: Record<string, ChartsRenderer> = { 'vit-stem': vitStemCharts };
