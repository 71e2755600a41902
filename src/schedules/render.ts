/**
 * Values of a schedule for plotting, and the core of `anneal schedule` (a preview of a spec:
 * its values over the run, a summary and a text chart). The CLI only parses flags and prints.
 */
import { UsageError } from '../errors.js';
import type { Timeline } from '../time/index.js';
import type { Schedule } from './types.js';
import { createSchedule } from './registry.js';
import { minOf, maxOf } from '../stats.js';

export interface RenderedSchedule {
  step: number[];
  value: number[];
}

/**
 * The steps to sample: every step 0 .. totalSteps-1, or, when `points` is smaller, `points`
 * steps spread evenly from 0 to totalSteps-1 (both included, rounded to whole steps).
 */
export function sampleSteps(totalSteps: number, points: number | undefined): number[] {
  if (!Number.isInteger(totalSteps) || totalSteps < 1) {
    throw new UsageError(
      'ANNEAL_BAD_SCHEDULE',
      `cannot render a schedule over ${String(totalSteps)} steps: expected an integer >= 1.`,
    );
  }
  if (points !== undefined && (!Number.isInteger(points) || points < 2)) {
    throw new UsageError(
      'ANNEAL_BAD_SCHEDULE',
      `cannot render a schedule at ${String(points)} points: expected an integer >= 2.`,
    );
  }
  if (points === undefined || points >= totalSteps) {
    return Array.from({ length: totalSteps }, (_, t) => t);
  }
  const steps = Array.from({ length: points }, (_, i) =>
    Math.round((i * (totalSteps - 1)) / (points - 1)),
  );
  return steps.filter((s, i) => i === 0 || s !== steps[i - 1]);
}

export function renderSchedule(
  schedule: Schedule,
  totalSteps: number,
  points?: number,
): RenderedSchedule {
  const step = sampleSteps(totalSteps, points);
  return { step, value: step.map((t) => schedule(t)) };
}

export interface SchedulePreview extends RenderedSchedule {
  name: string;
  totalSteps: number;
  /** Momentum at the same steps, for schedules that cycle it. */
  momentum?: number[];
  /** multiplicative_cyclic: steps completed at each cycle end. */
  cycleEnds?: number[];
  /** Over the sampled steps. */
  min: number;
  max: number;
  first: number;
  last: number;
}

/** Builds `spec` on `timeline` (which must know the run's length) and samples it. */
export function previewSchedule(
  spec: unknown,
  timeline: Timeline,
  points?: number,
): SchedulePreview {
  const totalSteps = timeline.totalSteps;
  if (totalSteps === undefined) {
    throw new UsageError(
      'ANNEAL_BAD_SCHEDULE',
      "cannot preview a schedule without the run's length: give the number of epochs or steps.",
    );
  }
  const built = createSchedule(spec, timeline);
  const rendered = renderSchedule(built.schedule, totalSteps, points);
  return {
    name: built.name,
    totalSteps,
    ...rendered,
    momentum: built.momentum && rendered.step.map((t) => built.momentum!(t)),
    cycleEnds: built.cycleEnds,
    min: minOf(rendered.value),
    max: maxOf(rendered.value),
    first: rendered.value[0],
    last: rendered.value[rendered.value.length - 1],
  };
}

export interface ChartOptions {
  /** Rows of the plot area (default 10). */
  height?: number;
  /** Labels under the left and right ends of the horizontal axis. */
  xStart: string;
  xEnd: string;
  /** The value axis' ends (default: min and max of the finite values). */
  min?: number;
  max?: number;
}

/**
 * A text chart of `values`, one column each, `height` rows, the value axis (min and max of the
 * finite values) on the left and the horizontal axis below. Non-finite values are left blank.
 */
export function formatChart(values: readonly number[], opts: ChartOptions): string[] {
  const height = opts.height ?? 10;
  const finite = values.filter(Number.isFinite);
  const min = opts.min ?? minOf(finite);
  const max = opts.max ?? maxOf(finite);
  const span = max - min || 1;
  const rowOf = (x: number) =>
    Math.min(height - 1, Math.max(0, Math.round(((x - min) / span) * (height - 1))));
  const rows = Array.from({ length: height }, () => Array<string>(values.length).fill(' '));
  values.forEach((x, col) => {
    if (Number.isFinite(x)) rows[height - 1 - rowOf(x)][col] = '*';
  });
  const label = (x: number) => x.toPrecision(3).padStart(10);
  const lines = rows.map((row, r) => {
    const axis = r === 0 ? label(max) : r === height - 1 ? label(min) : ' '.repeat(10);
    return `${axis} |${row.join('')}`;
  });
  const gap = Math.max(1, values.length - opts.xStart.length - opts.xEnd.length);
  lines.push(`${' '.repeat(10)} +${'-'.repeat(values.length)}`);
  lines.push(`${' '.repeat(12)}${opts.xStart}${' '.repeat(gap)}${opts.xEnd}`);
  return lines;
}

/**
 * A text chart of a preview, `height` rows by up to `width` columns (one column per sampled
 * step, so sample with points = width), value axis on the left, step axis below.
 */
export function formatPreview(preview: SchedulePreview, height = 10): string {
  const { step, min, max } = preview;
  const chart = formatChart(preview.value, {
    height,
    xStart: '0',
    xEnd: String(step[step.length - 1]),
    min,
    max,
  });
  const header =
    `${preview.name}: ${preview.totalSteps} steps, first ${preview.first.toPrecision(4)}, ` +
    `last ${preview.last.toPrecision(4)}, min ${min.toPrecision(4)}, max ${max.toPrecision(4)}` +
    (preview.cycleEnds ? `, cycle ends at steps ${preview.cycleEnds.join(', ')}` : '');
  return [header, ...chart].join('\n');
}
