/**
 * Retraining after pruning under the evidence protocol (bench/pruning-retrain.ts): the protocol's
 * table (arms, the paired verdict), then test accuracy per method and sparsity (mean ± sd over
 * seeds), and paired differences without a verdict but the primary's. Written into
 * bench/README.md; the chart is bench/results/pruning-retrain-accuracy.svg.
 */
import { accuracySparsityChart, type ChartSpec } from '../../src/report/charts.js';
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

/** `slr@90` -> { method: 'slr', sparsity: 90 }; `dense` -> sparsity 0. */
function parseArm(name: string): { method: string; sparsity: number } {
  const [method, sparsity] = name.split('@');
  return { method, sparsity: sparsity === undefined ? 0 : Number(sparsity) };
}

const runsOf = (r: ProtocolResult, arm: string) => r.records.filter((x) => x.arm === arm);

/** The dense arm's accuracy right after one-shot pruning, per sparsity (%): seed -> values. */
function afterPrune(r: ProtocolResult): {
  sparsities: number[];
  runs: number[][];
  seeds: number[];
} {
  const dense = runsOf(r, 'dense');
  const sparsities = ((dense[0]?.extra?.sparsities as number[] | undefined) ?? []).map((s) =>
    Math.round(100 * s),
  );
  return {
    sparsities,
    runs: dense.map((x) => (x.extra?.afterPrune as number[]) ?? []),
    seeds: dense.map((x) => x.seed),
  };
}

function renderPruningRetrain(r: ProtocolResult & ResultBase): string {
  const arms = r.protocol.arms.map((a) => ({ name: a.name, ...parseArm(a.name), steps: a.steps }));
  const pruned = arms.filter((a) => a.sparsity > 0);
  const sparsities = [...new Set(pruned.map((a) => a.sparsity))].sort((a, b) => a - b);
  const methods = [...new Set(pruned.map((a) => a.method))];
  const after = afterPrune(r);
  const cell = (method: string, s: number) => {
    const arm = arms.find((a) => a.method === method && a.sparsity === s);
    return arm ? meanSpread(runsOf(r, arm.name).map((x) => x.metric)) : '–';
  };
  const steps = (method: string) => pruned.find((a) => a.method === method)?.steps ?? 0;
  const dense = runsOf(r, 'dense').map((x) => x.metric);
  const grid = markdownTable(
    ['method', 'steps', ...sparsities.map((s) => `${s}% (%)`)],
    [
      [
        'one-shot pruning, no retraining',
        '0',
        ...sparsities.map((s) => {
          const i = after.sparsities.indexOf(s);
          return i < 0 ? '–' : meanSpread(after.runs.map((xs) => xs[i]));
        }),
      ],
      ...methods.map((m) => [
        m,
        steps(m).toLocaleString('en-US'),
        ...sparsities.map((s) => cell(m, s)),
      ]),
    ],
    ['l', 'r', ...sparsities.map(() => 'r' as const)],
  );

  const { primary } = r.protocol.claim;
  const comparisons: [string, string][] = [];
  for (const s of sparsities) {
    for (const m of methods) {
      if (m === 'ft') continue;
      const arm = `${m}@${s}`;
      if (arms.some((a) => a.name === arm) && arms.some((a) => a.name === `ft@${s}`)) {
        comparisons.push([arm, `ft@${s}`]);
      }
    }
    for (const [a, b] of [
      [`slr@${s}`, `lrw@${s}`],
      [`slr@${s}`, `clr@${s}`],
      [`slr@${s}`, `gradual@${s}`],
      [`imp3-slr@${s}`, `slr@${s}`],
      [`imp3-slr@${s}`, `gradual@${s}`],
    ]) {
      if (arms.some((x) => x.name === a) && arms.some((x) => x.name === b)) {
        comparisons.push([a, b]);
      }
    }
  }
  const differences = markdownTable(
    ['comparison', 'difference (points) [95% CI]', 'seeds'],
    comparisons.map(([a, b]) => {
      const d = pairedValues(r, a, b);
      const isPrimary = a === primary.arm && b === primary.baseline;
      return [
        `${a} - ${b}` + (isPrimary ? ' (primary: the verdict above)' : ''),
        intervalText(d, undefined, { seeds: false }),
        String(d.length),
      ];
    }),
    ['l', 'r', 'r'],
  );
  return [
    renderProtocol(r),
    `Test accuracy per method and sparsity of the prunable weights, mean ± sd over seeds (the dense pre-trained network: ${meanSpread(dense)}). One-shot global magnitude pruning of the same pre-trained network per seed, then each retraining schedule for the same steps; imp3-slr prunes in 3 cycles within the same steps; gradual prunes during training from scratch for pre-training + retraining steps:`,
    grid,
    "Paired differences, mean [95% t-interval] over seeds, reported without a verdict but the primary's:",
    differences,
  ].join('\n\n');
}

/** Accuracy against sparsity, one line per method (mean over seeds, min-max band), dense as a rule. */
function pruningRetrainCharts(r: ProtocolResult): Record<string, ChartSpec> {
  if (r.records.length === 0) return {};
  const points = r.records
    .filter((x: RunRecord) => x.arm !== 'dense')
    .map((x) => {
      const { method, sparsity } = parseArm(x.arm);
      return { method, sparsity: sparsity / 100, accuracy: x.metric / 100, seed: x.seed };
    });
  const after = afterPrune(r);
  after.runs.forEach((xs, j) =>
    xs.forEach((accuracy, i) =>
      points.push({
        method: 'no retraining',
        sparsity: after.sparsities[i] / 100,
        accuracy: accuracy / 100,
        seed: after.seeds[j],
      }),
    ),
  );
  const dense = runsOf(r, 'dense').map((x) => x.metric / 100);
  return {
    'pruning-retrain-accuracy': accuracySparsityChart(points, {
      title: `${r.protocol.claim.paper}: test accuracy after pruning and retraining`,
      ...(dense.length > 0 && { dense: mean(dense) }),
    }),
  };
}

export const renderers: Record<string, Renderer> = { 'pruning-retrain': renderPruningRetrain };
export const charts: Record<string, ChartsRenderer> = { 'pruning-retrain': pruningRetrainCharts };
