/**
 * AdamW decoupling under the evidence protocol (bench/adamw-grid.ts): the protocol's table (arms,
 * the paired verdict on |shift|), then per arm the soft optimum of each lr row, the signed shift
 * with its 95% interval and the best cell (no verdict), and both lr x decay grids, mean ± sd test
 * accuracy over seeds. Written into bench/README.md; the chart is
 * bench/results/adamw-grid-heatmaps.svg (both grids side by side, mean over seeds).
 */
import { lrWdHeatmapChart, type ChartSpec, type LrWdCell } from '../../src/report/charts.js';
import { maxOf, mean, tInterval } from '../../src/stats.js';
import { renderProtocol, type ProtocolResult, type RunRecord } from '../lib/experiment.js';
import {
  markdownTable,
  meanSpread,
  sci,
  type ChartsRenderer,
  type Renderer,
  type ResultBase,
} from '../lib/tables.js';

/** What bench/adamw-grid.ts keeps in each record's `extra`. */
interface GridExtra {
  lrs: number[];
  /** log10 of the decays. */
  exponents: number[];
  decays: number[];
  /** Test accuracy (%), rows lr, columns decay. */
  accuracies: number[][];
  /** The soft argmax of each row (log10 decay). */
  optimum: number[];
  /** log10 of each row's best cell's decay. */
  argmax: number[];
  /** optimum at the largest lr - at the smallest (decades). */
  shift: number;
  /** The grid's best cell (%). */
  best: number;
}

const extraOf = (x: RunRecord) => x.extra as unknown as GridExtra;
const runsOf = (r: ProtocolResult, arm: string) =>
  r.records.filter((x) => x.arm === arm).sort((a, b) => a.seed - b.seed);

/** What each arm's decay is, from its settings (the L2 coefficient, or lambda per step). */
function decayName(r: ProtocolResult, arm: string): string {
  const s = r.protocol.arms.find((a) => a.name === arm)?.settings as { decay?: string } | undefined;
  return s?.decay?.startsWith('lambda') ? 'λ per step' : 'L2 coefficient';
}

/** Each cell's mean and sample sd over the seeds: cells[lr][decay]. */
function meanGrid(runs: RunRecord[]): { mean: number; values: number[] }[][] {
  const first = extraOf(runs[0]);
  return first.lrs.map((_, i) =>
    first.decays.map((_, j) => {
      const values = runs.map((x) => extraOf(x).accuracies[i][j]);
      return { mean: mean(values), values };
    }),
  );
}

const signed = (x: number) => {
  const t = x.toFixed(2);
  return t === '-0.00' ? '0.00' : x > 0 ? `+${t}` : t;
};

function shiftInterval(shifts: number[]): string {
  if (shifts.length < 2) return shifts.length === 1 ? signed(shifts[0]) : '–';
  const i = tInterval(shifts);
  return `${signed(i.mean)} [${i.lower.toFixed(2)}, ${i.upper.toFixed(2)}]`;
}

function renderAdamwGrid(r: ProtocolResult & ResultBase): string {
  const arms = r.protocol.arms.map((a) => a.name).filter((a) => runsOf(r, a).length > 0);
  if (arms.length === 0) return renderProtocol(r);
  const lrs = extraOf(runsOf(r, arms[0])[0]).lrs;
  const tau = r.config.softArgmaxTau as number | undefined;
  const perArm = markdownTable(
    [
      'arm',
      'decay',
      ...lrs.map((lr) => `best log10 decay, lr ${sci(lr)}`),
      'shift (decades) [95% CI]',
      'grid argmax shift',
      'best cell (%)',
    ],
    arms.map((arm) => {
      const runs = runsOf(r, arm);
      const xs = runs.map(extraOf);
      return [
        arm,
        decayName(r, arm),
        ...lrs.map((_, i) => meanSpread(xs.map((x) => x.optimum[i]))),
        shiftInterval(xs.map((x) => x.shift)),
        meanSpread(xs.map((x) => x.argmax.at(-1)! - x.argmax[0])),
        meanSpread(xs.map((x) => x.best)),
      ];
    }),
  );
  const grids = arms.map((arm) => {
    const runs = runsOf(r, arm);
    const { decays } = extraOf(runs[0]);
    const grid = meanGrid(runs);
    const rows = lrs.map((lr, i) => {
      const top = maxOf(grid[i].map((c) => c.mean));
      return [
        sci(lr),
        ...grid[i].map((c) => {
          const text = meanSpread(c.values);
          return c.mean === top ? `**${text}**` : text;
        }),
      ];
    });
    const name = decayName(r, arm);
    return [
      `**\`${arm}\`**: test accuracy (%), mean ± sd over ${runs.length} seeds; rows learning rate, columns ${name}; bold: each row's best mean`,
      markdownTable([`lr \\ ${name === 'λ per step' ? 'λ' : 'L2'}`, ...decays.map(sci)], rows),
    ].join('\n\n');
  });
  return [
    renderProtocol(r),
    `Per arm, reported without a verdict: each row's best decay as a soft argmax (log10 decay weighted by exp((accuracy − the row's best) / ${tau ?? 'τ'} points)), mean ± sd over seeds; the signed shift (largest lr − smallest) with its 95% t-interval; the same shift by each row's best cell (grid steps of 0.5 decade); the grid's best cell. adamw's λ is the paper's per-step decay (weightDecay = λ / lr in anneal's and PyTorch's parametrisation).`,
    perArm,
    ...grids,
  ].join('\n\n');
}

/** Both grids side by side, mean test accuracy over seeds; each panel has its own decay axis. */
function adamwGridCharts(r: ProtocolResult): Record<string, ChartSpec> {
  const cells: LrWdCell[] = r.protocol.arms.flatMap((a) => {
    const runs = runsOf(r, a.name);
    if (runs.length === 0) return [];
    const { lrs, decays } = extraOf(runs[0]);
    const grid = meanGrid(runs);
    const series = `${a.name} (${decayName(r, a.name)})`;
    return lrs.flatMap((lr, i) =>
      decays.map((weightDecay, j) => ({ lr, weightDecay, value: grid[i][j].mean, series })),
    );
  });
  const spec = lrWdHeatmapChart(cells, {
    title: `${r.protocol.claim.paper}: test accuracy (%) over lr x decay, mean over seeds`,
    valueTitle: 'test accuracy (%)',
    format: '.1f',
  });
  // The arms' decays are on different scales (L2 coefficient, λ): one axis each.
  return {
    'adamw-grid-heatmaps': { ...spec, resolve: { scale: { y: 'independent' } } } as ChartSpec,
  };
}

export const renderers: Record<string, Renderer> = { 'adamw-grid': renderAdamwGrid };
export const charts: Record<string, ChartsRenderer> = { 'adamw-grid': adamwGridCharts };
