/**
 * Flatness vs generalisation under the evidence protocol (bench/flatness-correlation.ts): the
 * protocol's table (each measure's Kendall tau with the generalisation gap, the paired verdict of
 * sharpness vs the parameter norm), then every measure's taus (with the gap, with test error,
 * Jiang et al.'s granulated tau) and its paired difference from the parameter norm's, each
 * seed's population (models converged and excluded, the spread of the gap), and each factor
 * level's models over all seeds (the gap, sharpness and norm it went with). Written into
 * bench/README.md; the charts are bench/results/flatness-correlation-sharpness.svg and
 * flatness-correlation-norm.svg (the gap against each measure, every converged model of every
 * seed).
 */
import { flatnessScatterChart, type ChartSpec } from '../../src/report/charts.js';
import { maxOf, median, minOf } from '../../src/stats.js';
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

/** One model of a population, as bench/flatness-correlation.ts records it. */
interface ModelRow {
  trainSize: number;
  labelNoise: number;
  batchSize: number;
  hidden: number[];
  steps: number;
  converged: boolean;
  trainLoss: number;
  trainError: number;
  testError?: number;
  gap?: number;
  sharpness?: number;
  paramNorm?: number;
  [measure: string]: unknown;
}

interface CorrelationExtra {
  value: string;
  converged: number;
  excluded: number;
  diverged: number;
  steps: number;
  tauTestError: number;
  tauLossGap: number;
  tauCleanGap?: number;
  granulated: { psi: number; perAxis: Record<string, number> };
  models?: ModelRow[];
}

const extraOf = (x: RunRecord) => x.extra as unknown as CorrelationExtra;
const runsOf = (r: ProtocolResult, arm: string) =>
  r.records.filter((x) => x.arm === arm).sort((a, b) => a.seed - b.seed);
const populationArm = (r: ProtocolResult) =>
  r.records.find((x) => extraOf(x).models !== undefined)?.arm;

function renderCorrelation(r: ProtocolResult & ResultBase): string {
  if (r.records.length === 0) return renderProtocol(r);
  const { primary } = r.protocol.claim;
  const arms = r.protocol.arms.map((a) => a.name);
  const taus = markdownTable(
    [
      'arm (measure)',
      'tau with the gap',
      'tau with test error',
      'granulated tau (Psi)',
      `tau - ${primary.baseline}'s [95% CI]`,
    ],
    arms.map((arm) => {
      const runs = runsOf(r, arm);
      const differences = pairedValues(r, arm, primary.baseline);
      return [
        arm + (arm === primary.arm ? ' (primary)' : ''),
        meanSpread(runs.map((x) => x.metric)),
        meanSpread(runs.map((x) => extraOf(x).tauTestError)),
        meanSpread(runs.map((x) => extraOf(x).granulated.psi)),
        arm === primary.baseline ? '–' : intervalText(differences, undefined, { seeds: false }),
      ];
    }),
    ['l', 'r', 'r', 'r', 'r'],
  );
  const owner = populationArm(r);
  const populations = owner
    ? markdownTable(
        ['seed', 'models', 'converged', 'excluded', 'steps', 'gap (points)', 'test error (%)'],
        runsOf(r, owner).map((x) => {
          const e = extraOf(x);
          const ok = (e.models ?? []).filter((m) => m.converged);
          const gaps = ok.map((m) => m.gap!);
          return [
            String(x.seed),
            String(e.models?.length ?? 0),
            String(e.converged),
            String(e.excluded) + (e.diverged > 0 ? ` (${e.diverged} diverged)` : ''),
            e.steps.toLocaleString('en-US'),
            gaps.length > 0
              ? `${meanSpread(gaps)} (${minOf(gaps).toFixed(1)} to ${maxOf(gaps).toFixed(1)})`
              : '–',
            meanSpread(ok.map((m) => m.testError!)),
          ];
        }),
        ['r', 'r', 'r', 'l', 'r', 'r', 'r'],
      )
    : '';
  return [
    renderProtocol(r),
    "Each measure's Kendall tau over a seed's converged models, mean ± sd over seeds: with the generalisation gap (the metric), with test error, and Jiang et al.'s granulated tau with the gap (within groups that differ in one hyper-parameter, averaged over the hyper-parameters); and its paired difference from the parameter norm's tau, mean [95% t-interval] over seeds (no verdict but the primary's). Positive: sharper (or larger) models generalised worse.",
    taus,
    ...(owner
      ? [
          'The populations: models trained to the criterion (train loss below the threshold) and those excluded, the steps they took, and the gap and test error of the converged ones (mean ± sd, with the range):',
          populations,
          'Each factor level over all seeds: models converged of those trained, and the gap, sharpness and parameter norm of the converged ones (median, with the range of the gap): how far each factor moved generalisation and each measure.',
          factorTable(r, owner),
        ]
      : []),
  ].join('\n\n');
}

/** The factors of the grid, as the script records them in its config. */
const FACTORS: Record<string, (m: ModelRow) => string> = {
  trainSize: (m) => `n ${m.trainSize.toLocaleString('en-US')}`,
  labelNoise: (m) => `noise ${m.labelNoise}`,
  batchSize: (m) => `batch ${m.batchSize}`,
  hidden: (m) => `hidden [${m.hidden.join(', ')}]`,
};

function factorTable(r: ProtocolResult, owner: string): string {
  const models = runsOf(r, owner).flatMap((x) => extraOf(x).models ?? []);
  const rows: string[][] = [];
  for (const label of Object.values(FACTORS)) {
    for (const level of [...new Set(models.map(label))]) {
      const all = models.filter((m) => label(m) === level);
      const ok = all.filter((m) => m.converged);
      const gaps = ok.map((m) => m.gap!);
      const at = (f: string, d: number) =>
        ok.length > 0 ? median(ok.map((m) => m[f] as number)).toPrecision(d) : '–';
      rows.push([
        level,
        `${ok.length} of ${all.length}`,
        ok.length > 0
          ? `${median(gaps).toFixed(1)} (${minOf(gaps).toFixed(1)} to ${maxOf(gaps).toFixed(1)})`
          : '–',
        at('sharpness', 3),
        at('paramNorm', 3),
      ]);
    }
  }
  return markdownTable(
    ['factor level', 'converged', 'gap (points)', 'sharpness', 'param norm'],
    rows,
    ['l', 'r', 'r', 'r', 'r'],
  );
}

/** The gap against sharpness and against the parameter norm, every converged model. */
function correlationCharts(r: ProtocolResult): Record<string, ChartSpec> {
  const owner = populationArm(r);
  if (!owner) return {};
  const models = runsOf(r, owner).flatMap((x) =>
    (extraOf(x).models ?? []).filter((m) => m.converged).map((m) => ({ seed: x.seed, ...m })),
  );
  const chart = (field: 'sharpness' | 'paramNorm', xTitle: string) => {
    const points = models.map((m) => ({
      name: `seed ${m.seed}, ${Object.values(FACTORS)
        .map((label) => label(m))
        .join(', ')}`,
      flatness: m[field] as number,
      // The chart's y axis is a percentage of a fraction.
      accuracy: m.gap! / 100,
      // Colour by the two factors that move the gap most (training-set size within a colour).
      group: `${FACTORS.labelNoise(m)}, ${FACTORS.batchSize(m)}`,
    }));
    return flatnessScatterChart(points, {
      title: `${r.protocol.claim.paper}: generalisation gap vs ${xTitle}`,
      xTitle,
      yTitle: 'generalisation gap (test error - train error)',
      logX: points.every((p) => p.flatness > 0),
    });
  };
  return {
    [`${r.name}-sharpness`]: chart('sharpness', 'epsilon-sharpness (box, eps 1e-3)'),
    [`${r.name}-norm`]: chart('paramNorm', 'parameter norm (L2)'),
  };
}

export const renderers: Record<string, Renderer> = {
  'flatness-correlation': renderCorrelation,
};
export const charts: Record<string, ChartsRenderer> = {
  'flatness-correlation': correlationCharts,
};
