/**
 * Mode connectivity under the evidence protocol (bench/mode-connectivity.ts): the protocol's table
 * (each path's train-loss barrier, the paired verdict of bezier - line), then, reported without a
 * verdict, each path's barriers with their 95% intervals (train loss and test error), the Bezier
 * barrier against the equivalence margin stated before the run (TOST on the bezier values), the
 * trained networks' accuracy, and each path's train loss and test error at each t, mean ± sd over
 * pairs; the chart mode-connectivity-paths draws the mean train loss along both paths. Written into
 * bench/README.md.
 */
import { landscape1dChart, type ChartSpec } from '../../src/report/charts.js';
import { maxOf, mean, tost } from '../../src/stats.js';
import {
  extraNumber as num,
  intervalText,
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

type Result = ProtocolResult & ResultBase;

const series = (r: RunRecord, key: string) => {
  const v = r.extra?.[key];
  return Array.isArray(v) ? (v as number[]) : [];
};
const runsOf = (r: Result, arm: string) => r.records.filter((x) => x.arm === arm);

/** The points of t of the result (every run evaluates the same ones). */
const tsOf = (r: Result) => series(r.records[0] ?? ({} as RunRecord), 'ts');

function renderModeConnectivity(r: Result): string {
  const arms = r.protocol.arms.map((a) => a.name);
  const barriers = markdownTable(
    [
      'path',
      'train-loss barrier (nats) [95% CI]',
      'at t',
      'test-error barrier (points) [95% CI]',
      'peak train loss',
      'peak test error (%)',
    ],
    arms.map((arm) => {
      const runs = runsOf(r, arm);
      return [
        arm,
        intervalText(runs.map((x) => x.metric).filter(Number.isFinite), (x) => x.toFixed(3), {
          signed: false,
        }),
        meanSpread(
          runs.map((x) => num(x, 'barrierAt')),
          2,
        ),
        intervalText(
          runs.map((x) => num(x, 'barrierTestError')).filter(Number.isFinite),
          (x) => x.toFixed(2),
          { signed: false },
        ),
        meanSpread(
          runs.map((x) => maxOf(series(x, 'trainLoss'))),
          3,
        ),
        meanSpread(
          runs.map((x) => maxOf(series(x, 'testError'))),
          2,
        ),
      ];
    }),
  );

  const margin = r.config.equivalenceMargin as number | undefined;
  const bezier = runsOf(r, 'bezier').map((x) => x.metric);
  let equivalence = `The Bezier barrier against the margin stated before the run (±${margin ?? '–'} nats): fewer than 2 pairs.`;
  if (margin !== undefined && bezier.length >= 2) {
    const t = tost(bezier, margin);
    equivalence =
      `The Bezier barrier against the margin stated before the run, |B| < ${margin} nats (TOST, α 0.05, ` +
      `on the ${bezier.length} bezier barriers themselves): mean ${mean(bezier).toFixed(3)}, 90% interval ` +
      `[${t.lower.toFixed(3)}, ${t.upper.toFixed(3)}], p ${t.p.toPrecision(2)}: ` +
      (t.equivalent ? 'within the margin.' : 'not shown within the margin.');
  }

  // The networks: each line run holds its pair's two (the bezier run the same two).
  const nets = runsOf(r, 'line').flatMap((x) => series(x, 'endpointTestAccuracy'));
  const netLoss = runsOf(r, 'line').flatMap((x) => {
    const l = series(x, 'trainLoss');
    return l.length ? [l[0], l[l.length - 1]] : [];
  });
  const evaluation = r.config.evaluation as { trainSamples: number; testSamples: number };
  const networks =
    `The ${nets.length} trained networks (t = 0 and 1): test accuracy ${meanSpread(nets)}% on the first ` +
    `${evaluation.testSamples.toLocaleString('en-US')} test samples, train loss ${meanSpread(netLoss, 3)} on the ` +
    `first ${evaluation.trainSamples.toLocaleString('en-US')} training samples (mean ± sd).`;

  const ts = tsOf(r);
  const at = (arm: string, key: string, i: number) =>
    runsOf(r, arm).map((x) => series(x, key)[i] ?? NaN);
  const profile = markdownTable(
    ['t', ...arms.map((a) => `${a} train loss`), ...arms.map((a) => `${a} test error (%)`)],
    ts.map((t, i) => [
      t.toFixed(2),
      ...arms.map((a) => meanSpread(at(a, 'trainLoss', i), 3)),
      ...arms.map((a) => meanSpread(at(a, 'testError', i), 2)),
    ]),
  );

  return [
    renderProtocol(r),
    `Barrier B = ${r.config.barrier as string} over t = ${ts.map((t) => t.toFixed(2)).join(', ')}, L the mean cross-entropy on the first ${evaluation.trainSamples.toLocaleString('en-US')} training samples (for the test error, the same formula on the first ${evaluation.testSamples.toLocaleString('en-US')} test samples).`,
    "Reported without a verdict: each path's barriers, mean [95% t-interval] (pairs), where the train-loss barrier is reached and the path's peak values, mean ± sd over pairs:",
    barriers,
    equivalence,
    networks,
    'Along each path, mean ± sd over pairs:',
    profile,
  ].join('\n\n');
}

function modeConnectivityCharts(r: Result): Record<string, ChartSpec> {
  const ts = tsOf(r);
  const points = r.protocol.arms.flatMap((arm) =>
    ts.map((t, i) => ({
      alpha: t,
      loss: mean(runsOf(r, arm.name).map((x) => series(x, 'trainLoss')[i] ?? NaN)),
      series: arm.name,
    })),
  );
  return {
    'mode-connectivity-paths': landscape1dChart(points, {
      title: 'Train loss along the line and the Bezier curve, mean over pairs',
      xTitle: 't (0 and 1: the two trained networks)',
      valueTitle: 'train loss (nats)',
    }),
  };
}

export const renderers: Record<string, Renderer> = {
  'mode-connectivity': renderModeConnectivity,
};
export const charts: Record<string, ChartsRenderer> = {
  'mode-connectivity': modeConnectivityCharts,
};
