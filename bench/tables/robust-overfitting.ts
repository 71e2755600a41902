/**
 * Robust overfitting under the evidence protocol (bench/robust-overfitting.ts): the protocol's
 * table (arms, the paired verdict), then per training method (PGD, NoiLIn inside PGD) the robust
 * test accuracy at the last epoch, at the early-stopped epoch and at its best epoch (an oracle),
 * the robust accuracy curves every few epochs, and the secondary paired differences with their
 * 95% intervals (no verdict). Written into bench/README.md; the chart is
 * bench/results/robust-overfitting-curves.svg.
 */
import type { ChartSpec } from '../../src/report/charts.js';
import { mean, minOf } from '../../src/stats.js';
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

/** One training run's curves, one entry per evaluation (accuracies in %): the script's records. */
export interface Curves {
  /** The epoch (1-based, epochs done) of each evaluation. */
  epochs: number[];
  valRobust: number[];
  testRobust: number[];
  testClean: number[];
  trainRobust: number[];
  /** NoiLIn's injection rate during the epoch (0 for PGD). */
  noiseRate: number[];
  seconds: number;
}

/** What bench/robust-overfitting.ts keeps in each record's `extra`. */
interface RobustExtra {
  /** The epoch (1-based) whose test robust accuracy is the metric. */
  epoch: number;
  bestValEpoch: number;
  testClean: number;
  valRobust: number;
  trainRobust: number;
  peakTestRobust: number;
  peakEpoch: number;
  curves: Curves;
}

const extraOf = (x: RunRecord) => x.extra as unknown as RobustExtra;
const runsOf = (r: ProtocolResult, arm: string) => r.records.filter((x) => x.arm === arm);

/** The training methods and the arms each run gives (last epoch, early-stopped epoch). */
const METHODS = [
  { label: 'PGD', last: 'last', early: 'early_stopped' },
  { label: 'NoiLIn + PGD', last: 'noilin_last', early: 'noilin_early_stopped' },
];

/** The evaluations the curves table shows: at most about 10 columns, the last always. */
function sampledColumns(n: number): number[] {
  const every = Math.max(1, Math.ceil(n / 10));
  const xs = Array.from({ length: Math.floor(n / every) }, (_, i) => (i + 1) * every - 1);
  return xs.at(-1) === n - 1 ? xs : [...xs, n - 1];
}

function renderRobustOverfitting(r: ProtocolResult & ResultBase): string {
  const first = r.records[0];
  if (!first) return renderProtocol(r);
  const f = (xs: number[]) => meanSpread(xs.filter((x) => Number.isFinite(x)));
  const perMethod = markdownTable(
    [
      'training',
      'last epoch (%)',
      'early-stopped (%)',
      'best epoch, oracle (%)',
      'early-stopped epoch',
      'oracle epoch',
      'clean test, last (%)',
      'robust train - val, last (points)',
    ],
    METHODS.filter((m) => runsOf(r, m.last).length > 0).map((m) => {
      const last = runsOf(r, m.last).map(extraOf);
      return [
        m.label,
        f(last.map((e) => e.curves.testRobust.at(-1)!)),
        f(runsOf(r, m.early).map((x) => x.metric)),
        f(last.map((e) => e.peakTestRobust)),
        f(last.map((e) => e.bestValEpoch)),
        f(last.map((e) => e.peakEpoch)),
        f(last.map((e) => e.testClean)),
        f(last.map((e) => e.trainRobust - e.valRobust)),
      ];
    }),
  );
  const evalEpochs = extraOf(first).curves.epochs;
  const columns = sampledColumns(evalEpochs.length);
  const curveRows = METHODS.flatMap((m) => {
    const runs = runsOf(r, m.last).map(extraOf);
    if (runs.length === 0) return [];
    const row = (what: string, key: keyof Omit<Curves, 'seconds' | 'epochs'>) => [
      `${m.label}: ${what}`,
      ...columns.map((i) => f(runs.map((e) => e.curves[key][i]))),
    ];
    return [
      row('robust test', 'testRobust'),
      row('robust val', 'valRobust'),
      row('robust train', 'trainRobust'),
      ...(m.last.startsWith('noilin') ? [row('noise rate', 'noiseRate')] : []),
    ];
  });
  const curves = markdownTable(['run', ...columns.map((i) => `ep ${evalEpochs[i]}`)], curveRows, [
    'l',
    ...columns.map(() => 'r' as const),
  ]);
  const comparisons: [string, string, string, (x: RunRecord) => number][] = [
    ['noilin_last', 'last', 'NoiLIn vs PGD at the last epoch', (x) => x.metric],
    ['noilin_early_stopped', 'early_stopped', 'NoiLIn vs PGD, each early-stopped', (x) => x.metric],
    ['noilin_early_stopped', 'noilin_last', "early stopping within NoiLIn's run", (x) => x.metric],
  ];
  const differenceRows = comparisons.map(([arm, baseline, what, value]) => {
    const d = pairedValues(r, arm, baseline, value);
    return [
      `${arm} - ${baseline}`,
      what,
      intervalText(d, undefined, { seeds: false }),
      `${d.length}`,
    ];
  });
  // The size of the fall itself: each run's best epoch (an oracle, chosen on the test set) minus
  // its last, paired within the run.
  for (const m of METHODS) {
    const d = runsOf(r, m.last).map((x) => extraOf(x).peakTestRobust - x.metric);
    if (d.length > 0) {
      differenceRows.push([
        `${m.label}: best epoch - last`,
        'the fall after the peak (oracle on the test set)',
        intervalText(d, undefined, { seeds: false }),
        `${d.length}`,
      ]);
    }
  }
  const differences = markdownTable(
    ['comparison', 'what', 'difference (points) [95% CI]', 'seeds'],
    differenceRows,
    ['l', 'l', 'r', 'r'],
  );
  return [
    renderProtocol(r),
    'Per training method, robust test accuracy (PGD-10) mean ± sd over seeds: at the last epoch, at the epoch with the best robust validation accuracy (early stopping) and at the best epoch on the test set itself (an oracle, the peak); the epochs (1-based); the clean test accuracy and the robust train - validation gap at the last epoch:',
    perMethod,
    "Robust accuracy (%) during training at some of the evaluations, mean ± sd over seeds (NoiLIn's noise rate: the fraction of labels flipped in the epoch before the evaluation):",
    curves,
    'Secondary comparisons, paired by seed, mean [95% t-interval], reported without a verdict:',
    differences,
  ].join('\n\n');
}

/** Robust test and validation accuracy per epoch, mean over seeds, PGD and NoiLIn + PGD. */
function robustOverfittingCharts(r: ProtocolResult): Record<string, ChartSpec> {
  const rows: { epoch: number; accuracy: number; training: string; set: string }[] = [];
  for (const m of METHODS) {
    const runs = runsOf(r, m.last).map(extraOf);
    if (runs.length === 0) continue;
    const n = minOf(runs.map((e) => e.curves.testRobust.length));
    const sets: [string, keyof Omit<Curves, 'seconds' | 'noiseRate' | 'epochs'>][] = [
      ['test', 'testRobust'],
      ['validation', 'valRobust'],
      ['train (subset)', 'trainRobust'],
    ];
    for (const [set, key] of sets) {
      for (let i = 0; i < n; i++) {
        const xs = runs.map((e) => e.curves[key][i]).filter((x) => Number.isFinite(x));
        const epoch = runs[0].curves.epochs[i];
        if (xs.length > 0) rows.push({ epoch, accuracy: mean(xs), training: m.label, set });
      }
    }
  }
  if (rows.length === 0) return {};
  return {
    'robust-overfitting-curves': {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: `${r.protocol.claim.paper}: robust accuracy (PGD) per epoch, mean over seeds`,
      width: 440,
      height: 280,
      background: 'white',
      data: { values: rows },
      mark: { type: 'line', tooltip: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
        y: {
          field: 'accuracy',
          type: 'quantitative',
          title: 'robust accuracy (%)',
          scale: { zero: false },
        },
        color: { field: 'training', type: 'nominal', title: null },
        strokeDash: { field: 'set', type: 'nominal', title: null },
      },
    } as ChartSpec,
  };
}

export const renderers: Record<string, Renderer> = {
  'robust-overfitting': renderRobustOverfitting,
};
export const charts: Record<string, ChartsRenderer> = {
  'robust-overfitting': robustOverfittingCharts,
};
