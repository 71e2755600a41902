/**
 * `anneal schedule`: a preview of a schedule spec over a run of --steps steps: its first, last,
 * min and max values, where its cycles end, and a text chart; `--out` writes every step's value
 * as JSON, or with a .svg name the schedule as a chart (src/report/charts.ts). Runs longer than
 * PREVIEW_POINTS steps are sampled at that many evenly spaced steps.
 */
import { extname } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { renderSvg, scheduleChart } from '../report/charts.js';
import { formatPreview, previewSchedule, sampleSteps } from '../schedules/index.js';
import { writeFileAtomic } from '../train/atomic.js';
import { writeJsonAtomic } from '../runs/run-dir.js';
import { Timeline } from '../time/index.js';
import { checkOutFile } from '../runs/outputs.js';
import { positiveInt } from './parse.js';
import { parseScheduleFlag } from './recipe-flags.js';
import { minOf, maxOf } from '../stats.js';

/** The most steps a preview evaluates and writes: longer runs are sampled evenly. */
export const PREVIEW_POINTS = 100_000;

interface ScheduleOptions {
  spec: string;
  steps: number;
  stepsPerEpoch?: number;
  batchSize?: number;
  width: number;
  height: number;
  out?: string;
  overwrite: boolean;
}

/** Adds `anneal schedule` to the program. */
export function addScheduleCommand(program: Command): Command {
  return program
    .command('schedule')
    .description(
      'preview a schedule: min/max, cycle ends and a text chart over a run; --out writes the values ' +
        'as JSON, or an SVG chart when the file ends in .svg',
    )
    .requiredOption(
      '--spec <name|json>',
      `a schedule name or JSON spec, e.g. '{"name":"sgdr","t0":"1ep","tMult":2}'`,
    )
    .requiredOption('--steps <n>', "the run's length in optimizer steps", positiveInt)
    .option('--steps-per-epoch <n>', "steps in one epoch (for durations in 'ep')", positiveInt)
    .option('--batch-size <n>', "samples in one step (for durations in 'sp')", positiveInt)
    .option('--width <n>', 'columns of the chart', positiveInt, 72)
    .option('--height <n>', 'rows of the chart', positiveInt, 12)
    .option(
      '--out <file>',
      `write { step, value, ... } of every step (at most ${PREVIEW_POINTS.toLocaleString('en')}, evenly spaced) as JSON, or a chart if <file> ends in .svg`,
    )
    .option('--overwrite', 'replace an existing --out file', false)
    .action(scheduleCommand);
}

/**
 * Where cycles end, for schedules whose builder does not say: each step at which the value
 * rises again after falling (a warm restart, or the trough of a triangle), as steps completed.
 */
export function cycleEndsOf(values: readonly number[]): number[] {
  const scale = Math.max(maxOf(values.map(Math.abs)), 1e-300);
  const ends: number[] = [];
  let lastDirection = 0;
  for (let t = 1; t < values.length; t++) {
    const change = values[t] - values[t - 1];
    const direction = Math.abs(change) <= 1e-12 * scale ? 0 : Math.sign(change);
    if (direction > 0 && lastDirection < 0) ends.push(t);
    if (direction !== 0) lastDirection = direction;
  }
  return ends;
}

async function scheduleCommand(opts: ScheduleOptions): Promise<void> {
  if (opts.out) checkOutFile(opts.out, opts.overwrite);
  const timeline = new Timeline({
    totalSteps: opts.steps,
    stepsPerEpoch: opts.stepsPerEpoch,
    samplesPerStep: opts.batchSize,
  });
  const spec = parseScheduleFlag(opts.spec, '--spec');
  let full;
  try {
    full = previewSchedule(spec, timeline, PREVIEW_POINTS);
  } catch (e) {
    if (e instanceof UsageError && /stepsPerEpoch|samplesPerStep/.test(e.message)) {
      throw new UsageError(
        e.code,
        `${e.message} (anneal schedule: pass --steps-per-epoch, and --batch-size for 'sp')`,
      );
    }
    throw e;
  }
  // Cycle ends found in the values are exact when every step was evaluated, and within one
  // sampling interval otherwise.
  const cycleEnds = full.cycleEnds ?? cycleEndsOf(full.value).map((i) => full.step[i]);
  const preview = { ...full, cycleEnds };
  const columns = sampleSteps(preview.step.length, opts.width);
  // First/last/min/max from every evaluated step; the chart shows one column per sampled step.
  const sampled = {
    ...preview,
    step: columns.map((i) => preview.step[i]),
    value: columns.map((i) => preview.value[i]),
    cycleEnds: cycleEnds.length > 0 ? cycleEnds : undefined,
  };
  console.log(formatPreview(sampled, opts.height));
  if (preview.momentum) {
    console.log(
      `momentum: first ${preview.momentum[0].toPrecision(4)}, min ${minOf(preview.momentum).toPrecision(4)}, ` +
        `max ${maxOf(preview.momentum).toPrecision(4)}`,
    );
  }
  if (opts.out && extname(opts.out).toLowerCase() === '.svg') {
    writeFileAtomic(opts.out, await scheduleSvg(opts.spec, preview));
    console.log(`wrote ${opts.out}`);
  } else if (opts.out) {
    writeJsonAtomic(opts.out, {
      spec,
      stepsPerEpoch: opts.stepsPerEpoch ?? null,
      ...preview,
    });
    console.log(`wrote ${opts.out}`);
  }
}

/** The schedule (and its momentum, if it has one) as an SVG chart, cycle ends marked. */
function scheduleSvg(
  spec: string,
  preview: { step: number[]; value: number[]; momentum?: number[]; cycleEnds: number[] },
): Promise<string> {
  const points = preview.step.map((step, i) => ({
    step,
    value: preview.value[i],
    series: 'value',
  }));
  if (preview.momentum) {
    points.push(
      ...preview.step.map((step, i) => ({ step, value: preview.momentum![i], series: 'momentum' })),
    );
  }
  return renderSvg(scheduleChart(points, { title: spec, cycleEnds: preview.cycleEnds }));
}
