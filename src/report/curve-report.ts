/**
 * The report of a tradeoff-curve comparison (src/tradeoff, `anneal curve`): accuracy against
 * training time and against epochs per recipe with the Pareto frontier, each run's learning
 * rate, and the single-run curve against separate runs per budget, with their tables.
 */
import { join } from 'node:path';
import { paretoFrontier, type CurveResult } from '../tradeoff/index.js';
import {
  curveComparisonChart,
  renderSvg,
  scheduleChart,
  type ChartSpec,
  tradeoffChart,
  type CurvePoint as ComparedPoint,
} from './charts.js';
import { writeHtmlReport, type ReportSection, type TableRow } from './html.js';

const fmt = (x: number, digits = 4) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);

/** What the curve charts are drawn from: a comparison's points and summary. */
type CurveData = Pick<CurveResult, 'points' | 'summary'>;

/**
 * The curve charts as Vega-Lite specs: accuracy vs. training time and vs. epochs (each with its
 * own Pareto frontier) and, where separate runs were trained, single run vs. separate runs.
 */
export function curveCharts(result: CurveData): {
  time: ChartSpec;
  epochs: ChartSpec;
  singleVsMulti?: ChartSpec;
} {
  const { rows, singleVsMulti } = result.summary;
  const single = rows.filter((r) => r.run === 'single');
  // The frontier of the epochs chart is its own: the best accuracy within each epoch budget.
  const byEpochs = new Set(
    paretoFrontier(
      single.filter((r) => !r.diverged),
      (r) => r.epochs,
      (r) => r.accuracyMean,
    ),
  );
  const mean = (x: 'time' | 'epochs') =>
    single.map((r) => ({
      recipe: r.recipe,
      timeS: x === 'time' ? r.trainSecondsMean : r.epochs,
      accuracy: r.accuracyMean,
      frontier: x === 'time' ? r.frontier : byEpochs.has(r),
    }));
  const multiRecipes = new Set(singleVsMulti.map((r) => r.recipe));
  // Curve names carry the recipe only when several recipes have separate runs.
  const compared: ComparedPoint[] = result.points
    .filter((p) => multiRecipes.has(p.recipe))
    .map((p) => ({
      curve:
        (multiRecipes.size > 1 ? `${p.recipe}: ` : '') +
        (p.run === 'single' ? 'single run' : 'separate runs'),
      seed: p.seed,
      timeS: p.epochs,
      accuracy: p.accuracy,
    }));
  return {
    time: tradeoffChart(mean('time'), { logX: true }),
    epochs: tradeoffChart(mean('epochs'), {
      logX: true,
      xTitle: 'epochs',
      title: 'the same against epochs (independent of machine load)',
    }),
    ...(compared.length > 0
      ? { singleVsMulti: curveComparisonChart(compared, { xTitle: 'epochs', logX: true }) }
      : {}),
  };
}

/** The sections of a curve report (also used by `anneal report` for a curve.json). */
export async function curveReportSections(result: CurveResult): Promise<ReportSection[]> {
  const { rows, singleVsMulti, cost, vsBaseline } = result.summary;
  const single = rows.filter((r) => r.run === 'single');
  const seeds = result.settings.seeds.length;
  const seedNote = seeds > 1 ? ` Each point is the mean over ${seeds} seeds.` : '';
  const charts = curveCharts(result);
  const sections: ReportSection[] = [
    {
      title: 'Accuracy vs. training time',
      text:
        'One cyclic run per recipe: each point is the end of a cycle, standing in for a full run ' +
        'of that length. Training time excludes evaluation. The black step line is the Pareto ' +
        `frontier of all recipes' points (best accuracy within each time budget).${seedNote}`,
      svg: [await renderSvg(charts.time), await renderSvg(charts.epochs)],
      table: single.map((r): TableRow => ({
        recipe: r.recipe,
        cycle: r.cycle,
        steps: r.steps,
        epochs: fmt(r.epochs, 3),
        'train time (s)': fmt(r.trainSecondsMean, 2),
        'eval time (s)': fmt(r.evalSecondsMean, 2),
        accuracy: fmt(r.accuracyMean),
        ...(seeds > 1 ? { 'standard deviation (points)': fmt(r.accuracySd) } : {}),
        frontier: r.frontier ? 'yes' : '',
      })),
    },
  ];
  if (vsBaseline.length > 0) {
    sections.push({
      title: 'Against the baseline at equal time',
      text: "Each recipe's points compared with the baseline's curve interpolated at the same training time.",
      table: vsBaseline.flatMap((v) =>
        v.points.map((p) => ({
          recipe: v.recipe,
          'train time (s)': fmt(p.x, 2),
          'baseline accuracy': fmt(p.reference),
          accuracy: fmt(p.other),
          'difference (points)': fmt(p.delta),
        })),
      ),
    });
  }
  sections.push({
    title: 'Learning rate of each run',
    text: 'Cycles of T, mT, m²T, … steps, each decaying from the peak; dashed rules mark the cycle ends where the points are taken.',
    svg: [
      await renderSvg(
        scheduleChart(
          result.schedules
            .filter((s) => s.run === 'single')
            .flatMap((s) => s.points.map((p) => ({ step: p.step, value: p.lr, series: s.recipe }))),
          { yTitle: 'learning rate', cycleEnds: result.settings.budgets },
        ),
      ),
    ],
  });
  if (singleVsMulti.length > 0) {
    sections.push({
      title: 'Single run vs. separate runs',
      text:
        'The multi-run baseline trains a separate run for each budget with the standard schedule ' +
        '(one decay over the whole budget). Where the single-run curve agrees with it, one run ' +
        'measured the whole tradeoff. Goal: within two standard deviations of the separate runs.',
      svg: charts.singleVsMulti ? [await renderSvg(charts.singleVsMulti)] : [],
      table: [
        ...singleVsMulti.map((r): TableRow => ({
          recipe: r.recipe,
          budget: r.cycle,
          steps: r.steps,
          'single run accuracy': fmt(r.single),
          'separate runs accuracy': fmt(r.multi),
          'difference (points)': fmt(r.difference),
          ...(seeds > 1 ? { 'within 2 sd': r.withinTwoSd ? 'yes' : 'no' } : {}),
        })),
      ],
    });
    sections.push({
      title: 'Cost of each approach',
      table: cost.map((c) => ({
        recipe: c.recipe,
        'single run time (s)': fmt(c.singleSeconds, 1),
        'separate runs time (s)': fmt(c.multiSeconds, 1),
        'time ratio': fmt(c.ratio, 2),
        'single run steps': c.singleSteps,
        'separate runs steps': c.multiSteps,
      })),
    });
  }
  return sections;
}

/** The summary row of each recipe: its last budget's accuracy, time and throughput. */
function summary(result: CurveResult, engine?: { backend?: string }): TableRow[] {
  const last = result.settings.cycles;
  return result.summary.rows
    .filter((r) => r.run === 'single' && r.cycle === last)
    .map((r) => ({
      recipe: r.recipe,
      budget: `${Number(r.epochs.toFixed(2))} epochs`,
      accuracy: fmt(r.accuracyMean),
      'train time (s)': fmt(r.trainSecondsMean, 1),
      'samples per second': fmt((r.epochs * result.settings.trainSamples) / r.trainSecondsMean, 0),
      model: result.base.model.name,
      data: result.base.data.name,
      optimizer: result.base.optimizer.name,
      backend: engine?.backend ?? result.base.backend,
      kernels: result.base.kernels ?? 'auto',
      machine: `${result.machine?.cpu ?? 'not recorded'}, ${result.machine?.cores ?? '?'} cores`,
    }));
}

/** Writes `<out>/report.html` for a comparison and returns its path. */
export async function writeCurveReport(
  result: CurveResult,
  out: string,
  engine?: { backend?: string },
): Promise<string> {
  const path = join(out, 'report.html');
  const s = result.settings;
  writeHtmlReport(path, {
    title: `Tradeoff curves: ${s.recipes.join(', ')}`,
    subtitle:
      `${result.base.model.name} on ${result.base.data.name} (${s.trainSamples} train / ${s.testSamples} test), ` +
      `${s.cycles} cycles from ${s.firstCycleSteps} steps (x${s.mult}, ${s.shape}), batch ${s.batchSize}, ` +
      `${s.seeds.length} seed(s); generated ${new Date().toISOString()}`,
    summary: summary(result, engine),
    sections: await curveReportSections(result),
    data: result,
  });
  return path;
}
