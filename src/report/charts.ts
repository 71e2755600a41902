/**
 * Charts as Vega-Lite specs, one function per chart kind, rendered to SVG in Node by
 * `renderSvg` (vega's headless 'none' renderer: no canvas, no browser, no network). Every
 * function takes plain data (arrays of records, documented on its input type) and returns a
 * self-contained spec with the data inline, so any area can chart its results without knowing
 * Vega-Lite: `await renderSvg(tradeoffChart(points))`.
 *
 * Records whose plotted fields are not finite numbers are left out (a NaN loss has no place on
 * an axis, and JSON cannot hold it).
 */
import type { TopLevelSpec } from 'vega-lite';
import { minOf, maxOf } from '../stats.js';

export type ChartSpec = TopLevelSpec;

/** Options every chart takes. */
export interface ChartOptions {
  title?: string;
  /** Plot area in pixels (default 400 x 260). */
  width?: number;
  height?: number;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

let rendered = 0;

/**
 * Compiles a Vega-Lite spec and renders it to an SVG string. Throws on an invalid spec. The
 * SVG's ids (gradients, clip paths) get a prefix unique to this render, so several charts
 * inlined in one page cannot capture each other's references; a chart saved as a file of its
 * own may give a fixed `idPrefix` so that rendering it again writes the same bytes.
 */
export async function renderSvg(
  spec: ChartSpec,
  opts: { idPrefix?: string } = {},
): Promise<string> {
  // Loaded on first use: vega takes ~0.3 s to import, which every `anneal` command would pay.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const prefix = opts.idPrefix ?? `c${process.pid}-${rendered++}-`;
    return svg
      .replace(/\bid="([^"]+)"/g, `id="${prefix}$1"`)
      .replace(/url\(#([^)]+)\)/g, `url(#${prefix}$1)`)
      .replace(/href="#([^"]+)"/g, `href="#${prefix}$1"`);
  } finally {
    view.finalize();
  }
}

/** The records whose `fields` are all finite numbers. */
function finite<T extends object>(rows: readonly T[], fields: readonly (keyof T)[]): T[] {
  return rows.filter((r) => fields.every((f) => Number.isFinite(r[f] as unknown)));
}

function frame(opts: ChartOptions, defaults: { width?: number; height?: number } = {}) {
  return {
    $schema: SCHEMA,
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? defaults.width ?? 400,
    height: opts.height ?? defaults.height ?? 260,
    background: 'white',
  };
}

const tooltip = true;

// ---------------------------------------------------------------------------------------------
// Training curves

/** One value of one metric of one run at one time (e.g. from a run's log.jsonl). */
export interface TrainingPoint {
  /** The run (one line per run; several runs are overlaid). */
  run: string;
  /** e.g. 'loss', 'train/accuracy', 'eval/accuracy', 'lr'. Several metrics get dashed lines. */
  metric: string;
  step: number;
  /** Training seconds at that step (for x: 'seconds'). */
  seconds?: number;
  value: number;
}

/** Accuracies on an axis in percent, trailing zeros dropped: 95%, 97.5%. */
const PERCENT_AXIS = { format: '~%' };

export interface TrainingCurvesOptions extends ChartOptions {
  /** The x axis: optimizer steps (default) or training seconds. */
  x?: 'step' | 'seconds';
  yTitle?: string;
  logY?: boolean;
  /** Start the y axis at zero (default false: fit the data). */
  zero?: boolean;
  /** Label the y axis in percent (accuracies; default false). */
  percent?: boolean;
}

/**
 * Loss, accuracy or learning rate against steps or time: one line per (run, metric), several
 * runs overlaid in colour, several metrics told apart by dash. Short series get point marks.
 */
export function trainingCurvesChart(
  points: readonly TrainingPoint[],
  opts: TrainingCurvesOptions = {},
): ChartSpec {
  const x = opts.x ?? 'step';
  const rows = finite(points, [x, 'value']).map((p) => ({
    run: p.run,
    metric: p.metric,
    step: p.step,
    seconds: p.seconds,
    value: p.value,
  }));
  const metrics = new Set(rows.map((r) => r.metric));
  const perSeries = new Map<string, number>();
  for (const r of rows)
    perSeries.set(r.run + '\0' + r.metric, (perSeries.get(r.run + '\0' + r.metric) ?? 0) + 1);
  const fewPoints = Math.max(0, maxOf(perSeries.values())) <= 30;
  return {
    ...frame(opts),
    data: { values: rows },
    mark: { type: 'line', point: fewPoints, tooltip },
    encoding: {
      x: { field: x, type: 'quantitative', title: x === 'step' ? 'step' : 'training time (s)' },
      y: {
        field: 'value',
        type: 'quantitative',
        title: opts.yTitle ?? (metrics.size === 1 ? [...metrics][0] : 'value'),
        scale: opts.logY ? { type: 'log' } : { zero: opts.zero === true },
        ...(opts.percent ? { axis: PERCENT_AXIS } : {}),
      },
      color: { field: 'run', type: 'nominal', title: 'run' },
      ...(metrics.size > 1
        ? { strokeDash: { field: 'metric', type: 'nominal', title: 'metric' } }
        : {}),
      order: { field: x, type: 'quantitative' },
    },
  } as ChartSpec;
}

// ---------------------------------------------------------------------------------------------
// Schedule preview

/** A schedule's value at a step; `series` tells several schedules (or lr and momentum) apart. */
export interface SchedulePoint {
  step: number;
  value: number;
  series?: string;
}

export interface ScheduleChartOptions extends ChartOptions {
  yTitle?: string;
  /** Steps where cycles end (warm restarts): drawn as vertical rules. */
  cycleEnds?: readonly number[];
  logY?: boolean;
}

/** A schedule over a run: one line per series, cycle ends as grey vertical rules. */
export function scheduleChart(
  points: readonly SchedulePoint[],
  opts: ScheduleChartOptions = {},
): ChartSpec {
  const rows = finite(points, ['step', 'value']).map((p) => ({
    step: p.step,
    value: p.value,
    series: p.series ?? 'schedule',
  }));
  const series = new Set(rows.map((r) => r.series));
  const line = {
    name: 'schedule',
    data: { values: rows },
    mark: { type: 'line', interpolate: 'linear', tooltip },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: {
        field: 'value',
        type: 'quantitative',
        title: opts.yTitle ?? 'value',
        ...(opts.logY ? { scale: { type: 'log' } } : {}),
      },
      ...(series.size > 1 ? { color: { field: 'series', type: 'nominal', title: null } } : {}),
    },
  };
  const ends = (opts.cycleEnds ?? []).map((step) => ({ step }));
  if (ends.length === 0) return { ...frame(opts), ...line } as ChartSpec;
  return {
    ...frame(opts),
    layer: [
      {
        name: 'cycle_ends',
        data: { values: ends },
        mark: { type: 'rule', color: '#bbb', strokeDash: [4, 3] },
        encoding: { x: { field: 'step', type: 'quantitative' } },
      },
      line,
    ],
  } as ChartSpec;
}

// ---------------------------------------------------------------------------------------------
// Tradeoff curves and the Pareto frontier

/**
 * One (time, accuracy) point of a tradeoff curve: a snapshot of a single cyclic run, or one
 * run of a multi-run baseline. Points flagged `frontier` are on the Pareto frontier (computed
 * by the caller) and are drawn as a black step line.
 */
export interface TradeoffPoint {
  recipe: string;
  seed?: number;
  timeS: number;
  accuracy: number;
  frontier?: boolean;
}

export interface TradeoffChartOptions extends ChartOptions {
  logX?: boolean;
  xTitle?: string;
  yTitle?: string;
}

/**
 * Accuracy against training time, one coloured curve per recipe (and seed), with the Pareto
 * frontier (the best accuracy reachable within each time budget) as a black step line through
 * the flagged points, which are circled.
 */
export function tradeoffChart(
  points: readonly TradeoffPoint[],
  opts: TradeoffChartOptions = {},
): ChartSpec {
  const rows = finite(points, ['timeS', 'accuracy']).map((p) => ({
    recipe: p.recipe,
    seed: p.seed ?? 0,
    timeS: p.timeS,
    accuracy: p.accuracy,
    frontier: p.frontier === true,
  }));
  const x = {
    field: 'timeS',
    type: 'quantitative',
    title: opts.xTitle ?? 'training time (s)',
    ...(opts.logX ? { scale: { type: 'log' } } : {}),
  };
  const y = {
    field: 'accuracy',
    type: 'quantitative',
    title: opts.yTitle ?? 'accuracy',
    scale: { zero: false },
    axis: PERCENT_AXIS,
  };
  const color = { field: 'recipe', type: 'nominal', title: 'recipe' };
  const onFrontier = { filter: 'datum.frontier' };
  return {
    ...frame(opts),
    data: { values: rows },
    layer: [
      {
        name: 'curves',
        mark: { type: 'line', opacity: 0.7 },
        encoding: { x, y, color, detail: { field: 'seed' }, order: { field: 'timeS' } },
      },
      {
        name: 'points',
        mark: { type: 'point', filled: true, size: 30, tooltip },
        encoding: { x, y, color },
      },
      {
        name: 'frontier',
        transform: [onFrontier],
        mark: { type: 'line', color: 'black', strokeWidth: 2, interpolate: 'step-after' },
        encoding: { x, y, order: { field: 'timeS' } },
      },
      {
        name: 'frontier_points',
        transform: [onFrontier],
        mark: { type: 'point', color: 'black', size: 90, strokeWidth: 1.5, tooltip },
        encoding: { x, y },
      },
    ],
  } as ChartSpec;
}

/** A point of a curve compared in `curveComparisonChart`. */
export interface CurvePoint {
  /** e.g. 'single-run (cyclic)', 'multi-run baseline'. */
  curve: string;
  seed?: number;
  timeS: number;
  accuracy: number;
}

/**
 * Single-run vs multi-run tradeoff curves: accuracy against time, one colour and dash per
 * curve, one line per seed.
 */
export function curveComparisonChart(
  points: readonly CurvePoint[],
  opts: TradeoffChartOptions = {},
): ChartSpec {
  const rows = finite(points, ['timeS', 'accuracy']).map((p) => ({
    curve: p.curve,
    seed: p.seed ?? 0,
    timeS: p.timeS,
    accuracy: p.accuracy,
  }));
  return {
    ...frame(opts),
    data: { values: rows },
    mark: { type: 'line', point: true, tooltip },
    encoding: {
      x: {
        field: 'timeS',
        type: 'quantitative',
        title: opts.xTitle ?? 'training time (s)',
        ...(opts.logX ? { scale: { type: 'log' } } : {}),
      },
      y: {
        field: 'accuracy',
        type: 'quantitative',
        title: opts.yTitle ?? 'accuracy',
        scale: { zero: false },
        axis: PERCENT_AXIS,
      },
      color: { field: 'curve', type: 'nominal', title: null },
      strokeDash: { field: 'curve', type: 'nominal', title: null },
      detail: { field: 'seed' },
      order: { field: 'timeS' },
    },
  } as ChartSpec;
}

// ---------------------------------------------------------------------------------------------
// Pruning

/** Accuracy of a model pruned to `sparsity` (fraction of weights zero, 0..1) by `method`. */
export interface SparsityPoint {
  method: string;
  sparsity: number;
  accuracy: number;
  seed?: number;
}

export interface SparsityChartOptions extends ChartOptions {
  /** Accuracy of the dense model: a dashed horizontal rule. */
  dense?: number;
}

/**
 * Accuracy against sparsity, one line per method through the mean over seeds, with the
 * min-max range over seeds as a band.
 */
export function accuracySparsityChart(
  points: readonly SparsityPoint[],
  opts: SparsityChartOptions = {},
): ChartSpec {
  const rows = finite(points, ['sparsity', 'accuracy']).map((p) => ({
    method: p.method,
    sparsity: p.sparsity,
    accuracy: p.accuracy,
    seed: p.seed ?? 0,
  }));
  const x = {
    field: 'sparsity',
    type: 'quantitative',
    title: 'sparsity',
    axis: { format: '.0%' },
  };
  const color = { field: 'method', type: 'nominal', title: 'method' };
  const layer: object[] = [
    {
      name: 'range',
      mark: { type: 'errorband', extent: 'min-max', opacity: 0.2 },
      encoding: { x, y: { field: 'accuracy', type: 'quantitative' }, color },
    },
    {
      name: 'mean',
      mark: { type: 'line', point: true, tooltip },
      encoding: {
        x,
        y: {
          aggregate: 'mean',
          field: 'accuracy',
          type: 'quantitative',
          title: 'accuracy',
          scale: { zero: false },
          axis: PERCENT_AXIS,
        },
        color,
      },
    },
  ];
  if (opts.dense !== undefined && Number.isFinite(opts.dense)) {
    layer.push({
      name: 'dense',
      data: { values: [{ accuracy: opts.dense }] },
      mark: { type: 'rule', strokeDash: [6, 4], color: '#555' },
      encoding: { y: { field: 'accuracy', type: 'quantitative' } },
    });
  }
  return { ...frame(opts), data: { values: rows }, layer } as ChartSpec;
}

/** The sparsity (0..1) of one layer; `series` compares several prunings side by side. */
export interface LayerSparsity {
  layer: string;
  sparsity: number;
  series?: string;
}

/** Per-layer sparsity as bars, layers in the order given, series side by side. */
export function layerSparsityChart(
  layers: readonly LayerSparsity[],
  opts: ChartOptions = {},
): ChartSpec {
  const rows = finite(layers, ['sparsity']).map((l) => ({
    layer: l.layer,
    sparsity: l.sparsity,
    series: l.series ?? 'sparsity',
  }));
  const series = new Set(rows.map((r) => r.series));
  return {
    ...frame(opts),
    data: { values: rows },
    mark: { type: 'bar', tooltip },
    encoding: {
      x: { field: 'layer', type: 'nominal', sort: null, title: 'layer', axis: { labelAngle: -40 } },
      y: {
        field: 'sparsity',
        type: 'quantitative',
        title: 'sparsity',
        axis: { format: '.0%' },
        scale: { domain: [0, 1] },
      },
      ...(series.size > 1
        ? {
            xOffset: { field: 'series', type: 'nominal' },
            color: { field: 'series', type: 'nominal', title: null },
          }
        : {}),
    },
  } as ChartSpec;
}

// ---------------------------------------------------------------------------------------------
// Loss landscapes

/** The loss at `alpha` along a direction (alpha 0 = the trained weights). */
export interface Landscape1dPoint {
  alpha: number;
  loss: number;
  /** e.g. 'train', 'test', or one random direction per series. */
  series?: string;
}

export interface LandscapeChartOptions extends ChartOptions {
  xTitle?: string;
  /** What the value is (default 'loss'). */
  valueTitle?: string;
  logScale?: boolean;
}

/** A 1-D loss slice: one line per series, a rule at alpha = 0. */
export function landscape1dChart(
  points: readonly Landscape1dPoint[],
  opts: LandscapeChartOptions = {},
): ChartSpec {
  const rows = finite(points, ['alpha', 'loss']).map((p) => ({
    alpha: p.alpha,
    loss: p.loss,
    series: p.series ?? 'loss',
  }));
  const series = new Set(rows.map((r) => r.series));
  return {
    ...frame(opts),
    layer: [
      {
        name: 'origin',
        data: { values: [{ alpha: 0 }] },
        mark: { type: 'rule', color: '#bbb', strokeDash: [4, 3] },
        encoding: { x: { field: 'alpha', type: 'quantitative' } },
      },
      {
        name: 'slice',
        data: { values: rows },
        mark: { type: 'line', point: rows.length <= 60, tooltip },
        encoding: {
          x: {
            field: 'alpha',
            type: 'quantitative',
            title: opts.xTitle ?? 'alpha (step along direction)',
          },
          y: {
            field: 'loss',
            type: 'quantitative',
            title: opts.valueTitle ?? 'loss',
            scale: opts.logScale ? { type: 'log' } : { zero: false },
          },
          ...(series.size > 1 ? { color: { field: 'series', type: 'nominal', title: null } } : {}),
          order: { field: 'alpha' },
        },
      },
    ],
  } as ChartSpec;
}

/** The loss at (x, y) on a 2-D grid of steps along two directions (0, 0 = trained weights). */
export interface Landscape2dCell {
  x: number;
  y: number;
  loss: number;
}

export interface Landscape2dOptions extends LandscapeChartOptions {
  yTitle?: string;
  /** Quantise the colour into this many bands, which reads like filled contours (default 12). */
  levels?: number;
}

/** Half the smallest gap between sorted distinct values (the half-width of a grid cell). */
function halfStep(values: number[]): number {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  let step = Infinity;
  for (let i = 1; i < sorted.length; i++) step = Math.min(step, sorted[i] - sorted[i - 1]);
  return Number.isFinite(step) ? step / 2 : 0.5;
}

/**
 * A 2-D loss landscape as a heatmap on a regular grid, coloured in `levels` bands (contour-like),
 * with the trained weights (0, 0) marked by a cross.
 */
export function landscape2dChart(
  cells: readonly Landscape2dCell[],
  opts: Landscape2dOptions = {},
): ChartSpec {
  const rows = finite(cells, ['x', 'y', 'loss']);
  const hx = halfStep(rows.map((c) => c.x));
  const hy = halfStep(rows.map((c) => c.y));
  const values = rows.map((c) => ({
    x: c.x,
    y: c.y,
    loss: c.loss,
    x0: c.x - hx,
    x1: c.x + hx,
    y0: c.y - hy,
    y1: c.y + hy,
  }));
  const levels = opts.levels ?? 12;
  return {
    ...frame(opts, { width: 360, height: 320 }),
    layer: [
      {
        name: 'grid',
        data: { values },
        mark: { type: 'rect', tooltip },
        encoding: {
          x: {
            field: 'x0',
            type: 'quantitative',
            title: opts.xTitle ?? 'direction 1',
            scale: { nice: false, zero: false },
          },
          x2: { field: 'x1' },
          y: {
            field: 'y0',
            type: 'quantitative',
            title: opts.yTitle ?? 'direction 2',
            scale: { nice: false, zero: false },
          },
          y2: { field: 'y1' },
          color: {
            field: 'loss',
            type: 'quantitative',
            title: opts.valueTitle ?? 'loss',
            scale:
              levels > 0
                ? { type: 'quantize', zero: false, scheme: { name: 'viridis', count: levels } }
                : { scheme: 'viridis' },
          },
        },
      },
      {
        name: 'origin',
        data: { values: [{ x: 0, y: 0 }] },
        mark: { type: 'point', shape: 'cross', color: 'white', size: 120, filled: true },
        encoding: {
          x: { field: 'x', type: 'quantitative' },
          y: { field: 'y', type: 'quantitative' },
        },
      },
    ],
  } as ChartSpec;
}

// ---------------------------------------------------------------------------------------------
// Model soups

/** One fine-tuned model offered to a soup, and whether the soup took it. */
export interface SoupIngredient {
  name: string;
  accuracy: number;
  selected: boolean;
}

/** A finished soup (e.g. 'uniform soup', 'greedy soup') and its accuracy. */
export interface SoupResult {
  name: string;
  accuracy: number;
}

/**
 * Soup selection: each ingredient's accuracy as a dot (filled when the soup took it), in the
 * order given (greedy soups try them best first), with each soup's accuracy as a labelled rule.
 */
export function soupChart(
  ingredients: readonly SoupIngredient[],
  soups: readonly SoupResult[] = [],
  opts: ChartOptions = {},
): ChartSpec {
  const rows = finite(ingredients, ['accuracy']).map((i) => ({
    name: i.name,
    accuracy: i.accuracy,
    status: i.selected ? 'in the soup' : 'left out',
  }));
  const soupRows = finite(soups, ['accuracy']).map((s) => ({ soup: s.name, accuracy: s.accuracy }));
  const y = {
    field: 'accuracy',
    type: 'quantitative',
    title: 'accuracy',
    scale: { zero: false },
    axis: PERCENT_AXIS,
  };
  return {
    ...frame(opts),
    layer: [
      {
        name: 'ingredients',
        data: { values: rows },
        mark: { type: 'point', size: 80, filled: true, tooltip },
        encoding: {
          x: {
            field: 'name',
            type: 'nominal',
            sort: null,
            title: 'ingredient',
            axis: { labelAngle: -40 },
          },
          y,
          color: {
            field: 'status',
            type: 'nominal',
            title: null,
            scale: { domain: ['in the soup', 'left out'], range: ['#2a7ab9', '#bbb'] },
          },
        },
      },
      {
        name: 'soups',
        data: { values: soupRows },
        mark: { type: 'rule', strokeDash: [6, 4], strokeWidth: 1.5, tooltip },
        encoding: {
          y,
          stroke: { field: 'soup', type: 'nominal', title: 'soup', scale: { scheme: 'dark2' } },
        },
      },
    ],
    resolve: { scale: { color: 'independent' } },
  } as ChartSpec;
}

// ---------------------------------------------------------------------------------------------
// Search

/** One trial's result at one rung of successive halving / Hyperband. */
export interface SearchTrial {
  trial: string | number;
  rung: number;
  score: number;
  /** Hyperband bracket (stacks the trial counts by bracket). */
  bracket?: number;
  /** Whether the trial went on to the next rung. */
  promoted?: boolean;
}

export interface SearchChartOptions extends ChartOptions {
  scoreTitle?: string;
}

/**
 * Search progress: trials per rung as bars (stacked by bracket) beside every trial's score
 * across rungs (a grey line per trial, points coloured by promotion).
 */
export function searchProgressChart(
  trials: readonly SearchTrial[],
  opts: SearchChartOptions = {},
): ChartSpec {
  const rows = finite(trials, ['rung', 'score']).map((t) => ({
    trial: String(t.trial),
    rung: t.rung,
    score: t.score,
    bracket: t.bracket ?? 0,
    promoted: t.promoted === undefined ? 'unknown' : t.promoted ? 'promoted' : 'stopped',
  }));
  const brackets = new Set(rows.map((r) => r.bracket));
  const size = { width: Math.round((opts.width ?? 400) / 2), height: opts.height ?? 260 };
  return {
    $schema: SCHEMA,
    ...(opts.title ? { title: opts.title } : {}),
    background: 'white',
    data: { values: rows },
    hconcat: [
      {
        name: 'trials_per_rung',
        ...size,
        mark: { type: 'bar', tooltip },
        encoding: {
          x: { field: 'rung', type: 'ordinal', title: 'rung' },
          y: { aggregate: 'count', type: 'quantitative', title: 'trials' },
          ...(brackets.size > 1
            ? { color: { field: 'bracket', type: 'nominal', title: 'bracket' } }
            : {}),
        },
      },
      {
        name: 'scores',
        ...size,
        layer: [
          {
            mark: { type: 'line', color: '#ccc', strokeWidth: 1 },
            encoding: {
              x: { field: 'rung', type: 'ordinal', title: 'rung' },
              y: {
                field: 'score',
                type: 'quantitative',
                title: opts.scoreTitle ?? 'score',
                scale: { zero: false },
              },
              detail: { field: 'trial' },
            },
          },
          {
            mark: { type: 'point', filled: true, size: 40, tooltip },
            encoding: {
              x: { field: 'rung', type: 'ordinal' },
              y: { field: 'score', type: 'quantitative' },
              color: {
                field: 'promoted',
                type: 'nominal',
                title: null,
                scale: {
                  domain: ['promoted', 'stopped', 'unknown'],
                  range: ['#2a7ab9', '#d62728', '#888'],
                },
              },
            },
          },
        ],
      },
    ],
    resolve: { scale: { color: 'independent' } },
  } as ChartSpec;
}

/** The result of one (lr, weight decay) setting; `series` gives one panel per optimizer. */
export interface LrWdCell {
  lr: number;
  weightDecay: number;
  value: number;
  series?: string;
}

export interface HeatmapOptions extends ChartOptions {
  /** What the value is (default 'accuracy'). */
  valueTitle?: string;
  /** Colour scale direction: lower values are better (errors, losses). */
  lowerIsBetter?: boolean;
  /** d3 format of the numbers printed in the cells (default '.3f'). */
  format?: string;
}

/**
 * A learning-rate x weight-decay grid as a heatmap with the value printed in each cell, one
 * panel per series (e.g. Adam with L2 beside AdamW, as in the AdamW paper).
 */
export function lrWdHeatmapChart(cells: readonly LrWdCell[], opts: HeatmapOptions = {}): ChartSpec {
  const rows = finite(cells, ['lr', 'weightDecay', 'value']).map((c) => ({
    lr: c.lr,
    weightDecay: c.weightDecay,
    value: c.value,
    series: c.series ?? '',
  }));
  const series = new Set(rows.map((r) => r.series));
  const axisFormat = { formatType: 'number', format: '~e' };
  const x = {
    field: 'lr',
    type: 'ordinal',
    title: 'learning rate',
    axis: { ...axisFormat, labelAngle: 0 },
  };
  // Dark text on the bright (yellow) half of viridis, white on the dark half.
  const lo = minOf(rows.map((r) => r.value));
  const hi = maxOf(rows.map((r) => r.value));
  const bright = opts.lowerIsBetter
    ? `datum.value < ${(lo + hi) / 2}`
    : `datum.value > ${(lo + hi) / 2}`;
  const y = {
    field: 'weightDecay',
    type: 'ordinal',
    title: 'weight decay',
    sort: 'descending',
    axis: axisFormat,
  };
  const inner = {
    layer: [
      {
        name: 'cells',
        mark: { type: 'rect', tooltip },
        encoding: {
          x,
          y,
          color: {
            field: 'value',
            type: 'quantitative',
            title: opts.valueTitle ?? 'accuracy',
            scale: { scheme: 'viridis', reverse: opts.lowerIsBetter === true },
          },
        },
      },
      {
        name: 'labels',
        mark: { type: 'text', fontSize: 9 },
        encoding: {
          x,
          y,
          text: { field: 'value', type: 'quantitative', format: opts.format ?? '.3f' },
          color: { condition: { test: bright, value: 'black' }, value: 'white' },
        },
      },
    ],
  };
  const size = { width: opts.width ?? 300, height: opts.height ?? 240 };
  if (series.size <= 1) {
    return { ...frame(opts, size), data: { values: rows }, ...inner } as ChartSpec;
  }
  return {
    $schema: SCHEMA,
    ...(opts.title ? { title: opts.title } : {}),
    background: 'white',
    data: { values: rows },
    facet: { column: { field: 'series', type: 'nominal', title: null, sort: null } },
    spec: { ...size, ...inner },
  } as ChartSpec;
}

// ---------------------------------------------------------------------------------------------
// Flatness

/** One model's flatness (or sharpness) measure and its accuracy. */
export interface FlatnessPoint {
  name: string;
  flatness: number;
  accuracy: number;
  /** e.g. the optimizer or the batch size: points are coloured by group. */
  group?: string;
}

export interface FlatnessChartOptions extends ChartOptions {
  /** The measure on the x axis, e.g. 'sharpness (eps 5e-4)'. */
  xTitle?: string;
  yTitle?: string;
  logX?: boolean;
  /** Draw a least-squares line over all points (default true when there are 3 or more). */
  fit?: boolean;
}

/** Flatness against accuracy as a scatter, coloured by group, with a least-squares line. */
export function flatnessScatterChart(
  points: readonly FlatnessPoint[],
  opts: FlatnessChartOptions = {},
): ChartSpec {
  const rows = finite(points, ['flatness', 'accuracy']).map((p) => ({
    name: p.name,
    flatness: p.flatness,
    accuracy: p.accuracy,
    group: p.group ?? '',
  }));
  const groups = new Set(rows.map((r) => r.group));
  const x = {
    field: 'flatness',
    type: 'quantitative',
    title: opts.xTitle ?? 'flatness measure',
    scale: opts.logX ? { type: 'log' } : { zero: false },
  };
  const y = {
    field: 'accuracy',
    type: 'quantitative',
    title: opts.yTitle ?? 'accuracy',
    scale: { zero: false },
    axis: PERCENT_AXIS,
  };
  const layer: object[] = [
    {
      name: 'models',
      mark: { type: 'point', filled: true, size: 60, tooltip },
      encoding: {
        x,
        y,
        ...(groups.size > 1 ? { color: { field: 'group', type: 'nominal', title: null } } : {}),
        tooltip: [
          { field: 'name', type: 'nominal' },
          { field: 'flatness', type: 'quantitative' },
          { field: 'accuracy', type: 'quantitative' },
        ],
      },
    },
  ];
  if (opts.fit ?? rows.length >= 3) {
    layer.push({
      name: 'fit',
      transform: [{ regression: 'accuracy', on: 'flatness' }],
      mark: { type: 'line', color: '#555', strokeDash: [5, 3] },
      encoding: { x, y },
    });
  }
  return { ...frame(opts), data: { values: rows }, layer } as ChartSpec;
}

// ---------------------------------------------------------------------------------------------
// Paired experiments

/** One run of a paired experiment: `arm` on `seed` gave `value`. */
export interface PairedRun {
  arm: string;
  seed: number;
  value: number;
}

export interface PairedChartOptions extends ChartOptions {
  /** The metric with its unit, e.g. 'test accuracy (%)'. */
  yTitle?: string;
}

/**
 * A paired experiment at a glance: the arms along x (in the order given), a grey line per seed
 * joining its runs (pairing is what the verdict rests on, so the lines show whether arms move
 * together), a dot per run and a black tick at each arm's mean.
 */
export function pairedSeedsChart(
  runs: readonly PairedRun[],
  opts: PairedChartOptions = {},
): ChartSpec {
  const rows = finite(runs, ['value']).map((r) => ({ ...r, seed: String(r.seed) }));
  const arms = [...new Set(rows.map((r) => r.arm))];
  const x = { field: 'arm', type: 'nominal', sort: arms, title: null, axis: { labelAngle: 0 } };
  const y = {
    field: 'value',
    type: 'quantitative',
    title: opts.yTitle ?? 'metric',
    scale: { zero: false },
    // A metric's name can be a sentence: cut it at the plot's height rather than grow the chart.
    axis: { titleLimit: opts.height ?? 260 },
  };
  return {
    ...frame(opts, { width: Math.max(160, 110 * arms.length) }),
    data: { values: rows },
    layer: [
      {
        name: 'seeds',
        mark: { type: 'line', color: '#bbb', strokeWidth: 1 },
        encoding: { x, y, detail: { field: 'seed' } },
      },
      {
        name: 'runs',
        mark: { type: 'point', filled: true, size: 45, color: '#2a7ab9', tooltip },
        encoding: { x, y, tooltip: [{ field: 'arm' }, { field: 'seed' }, { field: 'value' }] },
      },
      {
        name: 'means',
        mark: { type: 'tick', color: 'black', thickness: 2, size: 30 },
        encoding: { x, y: { ...y, aggregate: 'mean' } },
      },
    ],
  } as ChartSpec;
}
