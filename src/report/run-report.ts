/**
 * From run directories to a report: one summary row per run (recipe, budget, accuracy, time,
 * samples/s, kernels and backend, machine), training-curve charts from the runs' log.jsonl
 * (several runs overlaid), and sections contributed by other areas for extra files a run
 * directory may hold.
 *
 * Extending: `registerReportSection('curve.json', (found) => section)` makes every report and
 * the viewer call `build` with each run holding `curve.json` (parsed: .json as JSON, .jsonl as
 * records, anything else as text). Builders registered in a module under
 * src/report/sections/ are loaded automatically, so an area adds a section by adding a file
 * there, without editing this one.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { renderSvg, trainingCurvesChart, type TrainingPoint } from './charts.js';
import type { HtmlReport, ReportSection, TableRow } from './html.js';
import { readJsonl } from '../logs/jsonl.js';
import type { Json, RunData } from './runs.js';

// ---------------------------------------------------------------------------------------------
// The section registry

/** One run holding a registered file, and the file's contents. */
export interface SectionSource {
  run: RunData;
  data: unknown;
}

/** Builds report sections from every run (of a report) that holds the registered file. */
export type SectionBuilder = (
  found: SectionSource[],
) => ReportSection | ReportSection[] | Promise<ReportSection | ReportSection[]>;

const builders = new Map<string, SectionBuilder>();

/**
 * Registers a builder for a file name a run directory may hold (e.g. 'curve.json'); a later
 * registration of the same name replaces the earlier one.
 */
export function registerReportSection(fileName: string, build: SectionBuilder): void {
  builders.set(fileName, build);
}

export function registeredSectionFiles(): string[] {
  return [...builders.keys()];
}

let pluginsLoaded: Promise<void> | undefined;

/** Imports every module in src/report/sections/ (dist/.../sections/ once built) once. */
export function loadSectionModules(): Promise<void> {
  pluginsLoaded ??= (async () => {
    const here = fileURLToPath(import.meta.url);
    const ext = extname(here); // .ts under tsx, .js once built
    const dir = join(here, '..', 'sections');
    let names: string[] = [];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith(ext) && !n.endsWith('.d.ts'));
    } catch {
      return;
    }
    for (const name of names.sort()) await import(pathToFileURL(join(dir, name)).href);
  })();
  return pluginsLoaded;
}

function readExtra(path: string): unknown {
  if (path.endsWith('.jsonl')) return readJsonl(path);
  const text = readFileSync(path, 'utf8');
  return path.endsWith('.json') ? JSON.parse(text) : text;
}

/** The sections registered builders make for the files these runs hold. */
export async function extraSections(runs: readonly RunData[]): Promise<ReportSection[]> {
  await loadSectionModules();
  const sections: ReportSection[] = [];
  for (const [file, build] of builders) {
    const found: SectionSource[] = [];
    for (const run of runs) {
      if (!run.files.includes(file)) continue;
      try {
        found.push({ run, data: readExtra(join(run.path, file)) });
      } catch (e) {
        // A file half-written by a live run, or a bad one, must not take the whole report down.
        sections.push({
          title: `${file} (${run.name})`,
          text: `could not read ${file}: ${(e as Error).message}`,
        });
      }
    }
    if (found.length === 0) continue;
    try {
      const built = await build(found);
      sections.push(...(Array.isArray(built) ? built : [built]));
    } catch (e) {
      const names = found.map((f) => f.run.name).join(', ');
      sections.push({
        title: `${file} (${names})`,
        text: `could not chart ${file}: ${(e as Error).message}`,
      });
    }
  }
  return sections;
}

// ---------------------------------------------------------------------------------------------
// Summary rows

function describeRecipe(recipe: Json): string {
  if (!recipe) return '';
  const parts = [`${recipe.model?.name ?? '?'} on ${recipe.data?.name ?? '?'}`];
  if (recipe.data?.limit) parts[0] += ` (${recipe.data.limit} samples)`;
  const opt = recipe.optimizer;
  if (opt?.name) parts.push(opt.lr !== undefined ? `${opt.name} lr ${opt.lr}` : opt.name);
  const lr = recipe.schedules?.lr;
  if (lr) parts.push(typeof lr === 'string' ? lr : (lr.name ?? 'schedule'));
  const methods: string[] = [...(recipe.methods?.use ?? [])];
  for (const key of Object.keys(recipe.methods ?? {})) {
    if (key !== 'use' && key !== 'nanGuard') methods.push(key);
  }
  if (methods.length > 0) parts.push(methods.join('+'));
  return parts.join(', ');
}

function formatMachine(m: Json): string | undefined {
  if (!m) return undefined;
  if (typeof m === 'string') return m;
  const cores = m.cores ? ` x${m.cores}` : '';
  return `${m.cpu ?? 'unknown cpu'}${cores}${m.gpu ? `, ${m.gpu}` : ''}`;
}

function lastEvent(run: RunData, event: string): Record<string, unknown> | undefined {
  for (let i = run.log.length - 1; i >= 0; i--) if (run.log[i].event === event) return run.log[i];
  return undefined;
}

const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? v : undefined;

/**
 * A run's row of the summary table. A run still training (no summary.json yet) is read from
 * its log: the latest evaluation and the latest step.
 */
export function summaryRow(run: RunData): TableRow {
  const { config, summary } = run;
  const runRecord = lastEvent(run, 'run') as Json;
  // `anneal train` keeps its recipe as `recipe`; `anneal curve` keeps the base one as `base`.
  const recipe = config?.recipe ?? runRecord?.recipe ?? config?.base;
  const compared = Array.isArray(config?.recipes) ? ` (recipes ${config.recipes.join(', ')})` : '';
  const engine = config?.engine ?? runRecord?.engine ?? {};
  const last = run.log[run.log.length - 1];
  const lastEval = lastEvent(run, 'eval_end');
  const fitStart = lastEvent(run, 'fit_start');
  const steps = num(summary?.steps) ?? num(last?.step);
  const maxSteps = num(fitStart?.maxSteps);
  const seconds = num(summary?.trainSeconds) ?? num(last?.trainSeconds);
  const samples = num(summary?.samples) ?? num(last?.samples);
  const status = summary
    ? (summary.stopReason ?? 'done')
    : steps !== undefined && maxSteps !== undefined
      ? `running (${steps}/${maxSteps} steps)`
      : 'running';
  return {
    run: run.name,
    recipe: describeRecipe(recipe) + compared,
    budget: [recipe?.duration, steps !== undefined ? `${steps} steps` : undefined]
      .filter(Boolean)
      .join(', '),
    accuracy:
      num(summary?.test?.accuracy) ??
      num(summary?.metrics?.['eval/accuracy']) ??
      num(lastEval?.['eval/accuracy']),
    'train time (s)': seconds,
    'samples per second':
      num(summary?.samplesPerSecond) ??
      (seconds && samples !== undefined ? samples / seconds : undefined),
    kernels: summary?.kernels ?? engine.kernels,
    backend: summary?.backend ?? engine.backend,
    machine:
      formatMachine(summary?.machine ?? config?.machine ?? runRecord?.machine) ?? 'not recorded',
    status,
  };
}

// ---------------------------------------------------------------------------------------------
// Training curves

/** Where each log field goes: chart, and the metric name in the legend. */
const CURVES: { event: string; field: string; chart: string; metric: string }[] = [
  { event: 'batch_end', field: 'loss', chart: 'loss', metric: 'batch loss' },
  { event: 'eval_end', field: 'eval/loss', chart: 'loss', metric: 'eval/loss' },
  { event: 'epoch_end', field: 'train/accuracy', chart: 'accuracy', metric: 'train/accuracy' },
  { event: 'eval_end', field: 'eval/accuracy', chart: 'accuracy', metric: 'eval/accuracy' },
  { event: 'batch_end', field: 'lr', chart: 'lr', metric: 'lr' },
  { event: 'batch_end', field: 'samplesPerSecond', chart: 'throughput', metric: 'samples/s' },
];

/**
 * The runs' curves as chart points, keyed by chart. A resumed run logs the steps it redoes
 * again: the last record of a step counts.
 */
export function trainingPoints(runs: readonly RunData[]): Record<string, TrainingPoint[]> {
  const charts: Record<string, TrainingPoint[]> = {};
  for (const run of runs) {
    const latest = new Map<string, TrainingPoint & { chart: string }>();
    for (const record of run.log) {
      for (const c of CURVES) {
        if (record.event !== c.event) continue;
        const value = num(record[c.field]);
        const step = num(record.step);
        if (value === undefined || step === undefined) continue;
        latest.set(`${c.metric}@${step}`, {
          chart: c.chart,
          run: run.name,
          metric: c.metric,
          step,
          seconds: num(record.trainSeconds),
          value,
        });
      }
    }
    for (const { chart, ...point } of latest.values()) (charts[chart] ??= []).push(point);
  }
  for (const [chart, points] of Object.entries(charts)) {
    points.sort((a, b) => a.step - b.step);
    charts[chart] = thin(points, MAX_POINTS);
  }
  return charts;
}

/** Points per (run, metric) series beyond which a chart keeps every k-th (and the last). */
const MAX_POINTS = 1000;

function thin(points: TrainingPoint[], max: number): TrainingPoint[] {
  const series = new Map<string, TrainingPoint[]>();
  for (const p of points) {
    const key = `${p.run}\0${p.metric}`;
    if (!series.has(key)) series.set(key, []);
    series.get(key)!.push(p);
  }
  return [...series.values()].flatMap((s) => {
    if (s.length <= max) return s;
    const k = Math.ceil(s.length / max);
    return s.filter((_, i) => i % k === 0 || i === s.length - 1);
  });
}

export interface RunReportOptions {
  /** The x axis of the training curves (default 'step'). */
  x?: 'step' | 'seconds';
  title?: string;
}

const CHART_TITLES: Record<
  string,
  { title: string; yTitle: string; zero?: boolean; percent?: boolean }
> = {
  loss: { title: 'Loss', yTitle: 'loss' },
  accuracy: { title: 'Accuracy', yTitle: 'accuracy', percent: true },
  lr: { title: 'Learning rate', yTitle: 'learning rate', zero: true },
  throughput: { title: 'Throughput', yTitle: 'samples/s', zero: true },
};

/** The training-curve sections and the extra sections of these runs. */
export async function runSections(
  runs: readonly RunData[],
  opts: RunReportOptions = {},
): Promise<ReportSection[]> {
  const points = trainingPoints(runs);
  const x = opts.x ?? 'step';
  const svg: string[] = [];
  for (const [chart, { title, yTitle, zero, percent }] of Object.entries(CHART_TITLES)) {
    if (!points[chart]?.length) continue;
    svg.push(
      await renderSvg(trainingCurvesChart(points[chart], { title, yTitle, zero, percent, x })),
    );
  }
  const sections: ReportSection[] = [];
  if (svg.length > 0) {
    sections.push({
      title: 'Training curves',
      text:
        runs.length > 1
          ? 'Every run overlaid, one colour per run; dashes tell metrics apart.'
          : 'Batch loss every log interval, train and eval metrics at each evaluation.',
      svg,
    });
  }
  sections.push(...(await extraSections(runs)));
  return sections;
}

/** The whole report of these runs, ready for `renderHtmlReport`. */
export async function buildRunReport(
  runs: readonly RunData[],
  opts: RunReportOptions = {},
): Promise<HtmlReport> {
  return {
    title: opts.title ?? `anneal report: ${runs.map((r) => r.name).join(', ')}`,
    subtitle: `${runs.length} run${runs.length === 1 ? '' : 's'}, made ${new Date().toISOString()}`,
    summary: runs.map(summaryRow),
    sections: await runSections(runs, opts),
    data: {
      runs: runs.map((r) => ({
        name: r.name,
        path: r.path,
        config: r.config ?? null,
        summary: r.summary ?? null,
      })),
      curves: trainingPoints(runs),
    },
  };
}
