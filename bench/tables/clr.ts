/**
 * Cyclical learning rates under the evidence protocol (bench/clr.ts): the protocol's table (arms,
 * the paired verdict), then each arm's final test accuracy and the steps it took to reach each
 * target, mean ± sd over seeds, with every cell of the fixed grid; each seed's range-test bounds
 * and best fixed lr; and a chart of test accuracy against steps, mean over seeds. Written into
 * bench/README.md and bench/results/clr-curves.svg.
 */
import { trainingCurvesChart, type ChartSpec } from '../../src/report/charts.js';
import { mean } from '../../src/stats.js';
import { renderProtocol, type ProtocolResult, type RunRecord } from '../lib/experiment.js';
import {
  markdownTable,
  meanSpread,
  sci,
  type ChartsRenderer,
  type Renderer,
  type ResultBase,
} from '../lib/tables.js';

type ClrResult = ProtocolResult & ResultBase;

interface CurvePoint {
  step: number;
  accuracy: number;
}

/** What one run (or one cell of the fixed grid) keeps. */
interface Run {
  seed: number;
  accuracy: number;
  curve: CurvePoint[];
  stepsToTarget: Record<string, number | null>;
}

/** The rows of the tables and the chart: each arm, and each cell of the fixed grid apart. */
function rowsOf(r: ClrResult): { name: string; runs: Run[] }[] {
  const of = (x: RunRecord): Run => ({
    seed: x.seed,
    accuracy: x.metric,
    curve: (x.extra?.curve as CurvePoint[]) ?? [],
    stepsToTarget: (x.extra?.stepsToTarget as Run['stepsToTarget']) ?? {},
  });
  const rows = r.protocol.arms.map((arm) => ({
    name: arm.name === 'fixed' ? "fixed (each seed's best lr)" : arm.name,
    runs: r.records.filter((x) => x.arm === arm.name).map(of),
  }));
  const fixed = r.records.filter((x) => x.arm === 'fixed');
  const lrs = (r.protocol.arms.find((a) => a.name === 'fixed')?.settings as { lrs?: number[] })
    ?.lrs;
  const cells = (lrs ?? []).map((lr) => ({
    name: `fixed lr ${lr}`,
    runs: fixed.flatMap((x) => {
      const cell = (x.extra?.cells as (Omit<Run, 'seed'> & { lr: number })[] | undefined)?.find(
        (c) => c.lr === lr,
      );
      return cell ? [{ ...cell, seed: x.seed }] : [];
    }),
  }));
  const at = rows.findIndex((row) => row.name.startsWith('fixed'));
  rows.splice(at + 1, 0, ...cells);
  return rows;
}

function renderClr(r: ClrResult): string {
  const targets = (r.config.targets as number[] | undefined) ?? [];
  const every = r.config.evalEvery as number;
  const rows = rowsOf(r).map(({ name, runs }) => [
    name,
    meanSpread(runs.map((x) => x.accuracy)),
    ...targets.flatMap((t) => {
      const steps = runs.map((x) => x.stepsToTarget[String(t)]);
      const reached = steps.filter((s): s is number => s !== null && s !== undefined);
      return [meanSpread(reached, 0), `${reached.length}/${runs.length}`];
    }),
  ]);
  const table = markdownTable(
    ['arm', 'test accuracy (%)', ...targets.flatMap((t) => [`steps to ${t}%`, `reached ${t}%`])],
    rows,
  );
  const rangeSteps = (
    r.protocol.arms.find((a) => a.name === 'clr')?.settings as {
      rangeTest?: { steps: number };
    }
  )?.rangeTest?.steps;
  const perSeed = r.protocol.seeds.flatMap((seed) => {
    const clr = r.records.find((x) => x.arm === 'clr' && x.seed === seed);
    const fixed = r.records.find((x) => x.arm === 'fixed' && x.seed === seed);
    if (!clr && !fixed) return [];
    const bounds = (
      clr?.extra?.rangeTest as { suggestions?: { bounds?: { min: number; max: number } } }
    )?.suggestions?.bounds;
    return [
      [
        String(seed),
        bounds ? `${sci(bounds.min)} – ${sci(bounds.max)}` : '–',
        fixed ? String(fixed.extra?.bestLr) : '–',
      ],
    ];
  });
  return [
    renderProtocol(r),
    `Each arm, mean ± sd over seeds (reported without a verdict). Steps to a target: training steps to the first evaluation (every ${every} steps) at or above it, over the seeds that reached it (how many: the next column); clr's range test adds ${rangeSteps ?? 'its'} steps before them. The fixed grid's cells are listed apart.`,
    table,
    "Per seed: clr's bounds from its range test (where the smoothed loss starts falling, and its minimum) and the fixed grid's best lr (which the step arm decays):",
    markdownTable(['seed', 'clr bounds', 'best fixed lr'], perSeed),
  ].join('\n\n');
}

/** Test accuracy against steps, mean over seeds, one line per arm and per fixed lr. */
function clrCharts(r: ClrResult): Record<string, ChartSpec> {
  const points = rowsOf(r)
    .filter(({ name }) => !name.startsWith("fixed (each seed's"))
    .flatMap(({ name, runs }) => {
      const steps = [...new Set(runs.flatMap((x) => x.curve.map((p) => p.step)))].sort(
        (a, b) => a - b,
      );
      return steps.map((step) => {
        const at = runs.flatMap((x) => x.curve.filter((p) => p.step === step));
        return {
          run: name,
          metric: 'test accuracy',
          step,
          value: mean(at.map((p) => p.accuracy)) / 100,
        };
      });
    });
  return {
    'clr-curves': trainingCurvesChart(points, {
      title: `${r.protocol.claim.paper}: test accuracy, mean over ${r.protocol.seeds.length} seeds`,
      yTitle: 'test accuracy',
      percent: true,
    }),
  };
}

export const renderers: Record<string, Renderer> = { clr: renderClr };
export const charts: Record<string, ChartsRenderer> = { clr: clrCharts };
