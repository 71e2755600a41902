/**
 * SGDR under the evidence protocol (bench/sgdr.ts): the protocol's table (arms, the paired
 * verdict), then each arm's test accuracy at each budget, every 1.5-epoch run's accuracy every
 * 0.5 epoch, and the paired differences per budget with their 95% intervals (no verdict but the
 * primary's). Written into bench/README.md; the chart is bench/results/sgdr-accuracy.svg.
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
  type ChartsRenderer,
  type Renderer,
  type ResultBase,
} from '../lib/tables.js';

/** What bench/sgdr.ts keeps in each record's `extra`. */
interface SgdrExtra {
  budgetSteps: number[];
  budgetEpochs: number[];
  /** Test accuracy (%) at each budget. */
  atBudget: number[];
  stepsPerEpoch: number;
  /** The arm's 1.5-epoch run, evaluated every 0.5 epoch. */
  curve: { steps: number; accuracy: number }[];
}

const extraOf = (x: RunRecord) => x.extra as unknown as SgdrExtra;
const runsOf = (r: ProtocolResult, arm: string) => r.records.filter((x) => x.arm === arm);
const epochs = (e: SgdrExtra, steps: number) => Number((steps / e.stepsPerEpoch).toFixed(2));

function renderSgdr(r: ProtocolResult & ResultBase): string {
  const first = r.records[0];
  if (!first) return renderProtocol(r);
  const e = extraOf(first);
  const arms = r.protocol.arms.map((a) => a.name);
  const budgets = markdownTable(
    ['arm', ...e.budgetEpochs.map((ep) => `${ep} ep (%)`)],
    arms.map((arm) => [
      arm,
      ...e.budgetSteps.map((_, i) => meanSpread(runsOf(r, arm).map((x) => extraOf(x).atBudget[i]))),
    ]),
  );
  const curveSteps = e.curve.map((p) => p.steps);
  const curves = markdownTable(
    ['arm', ...curveSteps.map((s) => `${epochs(e, s)} ep (%)`)],
    arms.map((arm) => [
      arm,
      ...curveSteps.map((s) =>
        meanSpread(
          runsOf(r, arm).map((x) => extraOf(x).curve.find((p) => p.steps === s)?.accuracy ?? NaN),
        ),
      ),
    ]),
  );
  const { primary } = r.protocol.claim;
  const last = e.budgetSteps.length - 1;
  const differences = markdownTable(
    ['comparison', 'budget', 'difference (points) [95% CI]', 'seeds'],
    ['cosine', 'step'].flatMap((baseline) =>
      e.budgetEpochs.map((ep, i) => {
        const differences = pairedValues(r, 'sgdr', baseline, (x) => extraOf(x).atBudget[i]);
        return [
          `sgdr - ${baseline}` +
            (primary.baseline === baseline && i === last ? ' (primary: the verdict above)' : ''),
          `${ep} ep`,
          intervalText(differences, undefined, { seeds: false }),
          String(differences.length),
        ];
      }),
    ),
    ['l', 'l', 'r', 'r'],
  );
  return [
    renderProtocol(r),
    'Test accuracy at each budget, mean ± sd over seeds: sgdr is its one run at the end of each cycle (its restarts), cosine a separate run of that length, step its 1.5-epoch run (at 0.5 epoch, that run stopped there):',
    budgets,
    "Each arm's 1.5-epoch run evaluated every 0.5 epoch, mean ± sd over seeds (sgdr at 1.0 epoch is mid-cycle):",
    curves,
    "Paired differences per budget, mean [95% t-interval] over seeds, reported without a verdict but the primary's. SGDR's first cycle is the 0.5-epoch cosine run itself (same seed, schedule and data order): sgdr - cosine at 0.5 epoch is 0 by construction.",
    differences,
  ].join('\n\n');
}

/** Test accuracy against epochs, mean over seeds: each 1.5-epoch run, and the separate cosine runs. */
function sgdrCharts(r: ProtocolResult): Record<string, ChartSpec> {
  const first = r.records[0];
  if (!first) return {};
  const e = extraOf(first);
  const rows: { series: string; epochs: number; accuracy: number; kind: string }[] = [];
  for (const arm of r.protocol.arms.map((a) => a.name)) {
    const runs = runsOf(r, arm);
    for (const { steps } of e.curve) {
      const xs = runs
        .map((x) => extraOf(x).curve.find((p) => p.steps === steps)?.accuracy)
        .filter((x): x is number => Number.isFinite(x));
      if (xs.length > 0) {
        const series = `${arm}, one ${epochs(e, e.budgetSteps.at(-1)!)}-epoch run`;
        rows.push({ series, epochs: epochs(e, steps), accuracy: mean(xs), kind: 'run' });
      }
    }
  }
  const cosine = runsOf(r, 'cosine');
  e.budgetSteps.forEach((steps, i) => {
    const xs = cosine.map((x) => extraOf(x).atBudget[i]).filter((x) => Number.isFinite(x));
    if (xs.length > 0) {
      rows.push({
        series: 'cosine, a separate run of each length',
        epochs: epochs(e, steps),
        accuracy: mean(xs),
        kind: 'separate',
      });
    }
  });
  const x = { field: 'epochs', type: 'quantitative', title: 'epochs' };
  const y = {
    field: 'accuracy',
    type: 'quantitative',
    title: 'test accuracy (%), mean over seeds',
    scale: { zero: false },
  };
  const color = { field: 'series', type: 'nominal', title: null };
  return {
    'sgdr-accuracy': {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: `${r.protocol.claim.paper}: test accuracy at each evaluation`,
      width: 400,
      height: 260,
      background: 'white',
      data: { values: rows },
      layer: [
        {
          transform: [{ filter: "datum.kind === 'run'" }],
          mark: { type: 'line', point: true, tooltip: true },
          encoding: { x, y, color },
        },
        {
          transform: [{ filter: "datum.kind === 'separate'" }],
          mark: { type: 'point', shape: 'square', size: 90, filled: true, tooltip: true },
          encoding: { x, y, color },
        },
      ],
    } as ChartSpec,
  };
}

export const renderers: Record<string, Renderer> = { sgdr: renderSgdr };
export const charts: Record<string, ChartsRenderer> = { sgdr: sgdrCharts };
