/**
 * The tradeoff-curve results (bench/curve.ts): single run vs. separate runs per budget over
 * seeds, the cost of each, and every recipe's curve with the Pareto frontier.
 */
import { curveCharts } from '../../src/report/curve-report.js';
import type { ChartSpec } from '../../src/report/charts.js';
import type {
  CostComparison,
  CurvePoint,
  CurveRow,
  SingleVsMultiRow,
} from '../../src/tradeoff/index.js';
import {
  markdownTable,
  provenance,
  type ChartsRenderer,
  type Renderer,
  type ResultBase,
} from '../lib/tables.js';

export interface CurveBenchResult extends ResultBase {
  config: {
    model: string;
    optimizer: string;
    trainSamples: number;
    testSamples: number;
    recipes: string[];
    seeds: number[];
    budgets: number[];
    batchSize: number;
    cycles: number;
    mult: number;
    firstCycleSteps: number;
  };
  minutes: number;
  points: CurvePoint[];
  summary: { rows: CurveRow[]; singleVsMulti: SingleVsMultiRow[]; cost: CostComparison[] };
}

const pct = (x: number) => (100 * x).toFixed(2);
const withSd = (mean: number, sd: number, seeds: number) =>
  seeds > 1 ? `${pct(mean)} ± ${pct(sd)}` : pct(mean);

function renderCurve(r: CurveBenchResult): string {
  const c = r.config;
  const seeds = c.seeds.length;
  const epochsOf = (steps: number) => ((steps * c.batchSize) / c.trainSamples).toFixed(3);
  const check = markdownTable(
    ['budget (epochs)', 'single run, %', 'separate runs, %', 'difference, pt', 'within 2 sd'],
    r.summary.singleVsMulti.map((row) => [
      epochsOf(row.steps),
      withSd(row.single, row.singleSd, seeds),
      withSd(row.multi, row.multiSd, seeds),
      (100 * row.difference).toFixed(2),
      row.withinTwoSd ? 'yes' : '**no**',
    ]),
  );
  const cost = markdownTable(
    ['recipe', 'single run (s)', 'separate runs (s)', 'ratio', 'single steps', 'separate steps'],
    r.summary.cost.map((x) => [
      x.recipe,
      x.singleSeconds.toFixed(1),
      x.multiSeconds.toFixed(1),
      `${x.ratio.toFixed(2)}x`,
      String(x.singleSteps),
      String(x.multiSteps),
    ]),
  );
  const single = r.summary.rows.filter((row) => row.run === 'single');
  const budgets = [...new Set(single.map((row) => row.cycle))].sort((a, b) => a - b);
  const recipes = [...new Set(single.map((row) => row.recipe))];
  const curves = markdownTable(
    ['recipe', ...budgets.map((b) => `${epochsOf(c.budgets[b - 1])} ep, %`)],
    recipes.map((recipe) => [
      recipe,
      ...budgets.map((b) => {
        const row = single.find((x) => x.recipe === recipe && x.cycle === b);
        if (!row) return '–';
        const text = withSd(row.accuracyMean, row.accuracySd, seeds);
        return row.frontier ? `**${text}**` : text;
      }),
    ]),
  );
  return [
    `${c.model} on MNIST (${c.trainSamples} train / ${c.testSamples} test samples), ${c.optimizer}, ` +
      `batch ${c.batchSize}, ${c.cycles} cycles from ${c.firstCycleSteps} steps (x${c.mult}); ` +
      `test accuracy, mean ± sd over ${seeds} seed(s); ${r.minutes.toFixed(1)} minutes in all.`,
    '',
    "**Single run vs. separate runs** (baseline recipe): the single cyclic run's point at the end of each cycle against a separate run of that budget with one decay.",
    '',
    check,
    '',
    cost,
    '',
    '**Recipes** (single runs; bold: on the Pareto frontier of accuracy vs. training time):',
    '',
    curves,
    '',
    provenance(r),
  ].join('\n');
}

/** The recipes' curves (against time and against epochs) and the single-run check. */
function curveChartFiles(r: CurveBenchResult): Record<string, ChartSpec> {
  const charts = curveCharts({ points: r.points, summary: { ...r.summary, vsBaseline: [] } });
  return {
    'curve-recipes-time': charts.time,
    'curve-recipes-epochs': charts.epochs,
    ...(charts.singleVsMulti ? { 'curve-single-vs-multi': charts.singleVsMulti } : {}),
  };
}

export const renderers: Record<string, Renderer> = { curve: renderCurve };
export const charts: Record<string, ChartsRenderer> = { curve: curveChartFiles };
