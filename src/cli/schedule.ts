/**
 * `anneal schedule`: a preview of a schedule spec over a run of --steps steps: its first, last,
 * min and max values, where its cycles end, and a text chart; `--out` writes every step's value
 * as JSON. (SVG charts come with the reports.)
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { formatPreview, previewSchedule, sampleSteps } from '../schedules/index.js';
import { writeJsonAtomic } from '../train/run-dir.js';
import { Timeline } from '../train/time.js';
import { positiveInt } from './parse.js';
import { parseScheduleFlag } from './recipe-flags.js';

interface ScheduleOptions {
  spec: string;
  steps: number;
  stepsPerEpoch?: number;
  batchSize?: number;
  width: number;
  height: number;
  out?: string;
}

/** Adds `anneal schedule` to the program. */
export function addScheduleCommand(program: Command): Command {
  return program
    .command('schedule')
    .description(
      'preview a schedule: min/max, cycle ends and a text chart over a run; --out writes the values ' +
        'as JSON (SVG charts come with the reports)',
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
    .option('--out <file>', 'write { step, value, ... } of every step as JSON')
    .action(scheduleCommand);
}

/**
 * Where cycles end, for schedules whose builder does not say: each step at which the value
 * rises again after falling (a warm restart, or the trough of a triangle), as steps completed.
 */
export function cycleEndsOf(values: readonly number[]): number[] {
  const scale = Math.max(...values.map(Math.abs), 1e-300);
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

function scheduleCommand(opts: ScheduleOptions): void {
  const timeline = new Timeline({
    totalSteps: opts.steps,
    stepsPerEpoch: opts.stepsPerEpoch,
    samplesPerStep: opts.batchSize,
  });
  const spec = parseScheduleFlag(opts.spec, '--spec');
  let full;
  try {
    full = previewSchedule(spec, timeline);
  } catch (e) {
    if (e instanceof UsageError && /stepsPerEpoch|samplesPerStep/.test(e.message)) {
      throw new UsageError(
        e.code,
        `${e.message} (anneal schedule: pass --steps-per-epoch, and --batch-size for 'sp')`,
      );
    }
    throw e;
  }
  const cycleEnds = full.cycleEnds ?? cycleEndsOf(full.value);
  const preview = { ...full, cycleEnds };
  const columns = sampleSteps(opts.steps, opts.width);
  // Exact first/last/min/max from every step; the chart shows one column per sampled step.
  const sampled = {
    ...preview,
    step: columns.map((t) => preview.step[t]),
    value: columns.map((t) => preview.value[t]),
    cycleEnds: cycleEnds.length > 0 ? cycleEnds : undefined,
  };
  console.log(formatPreview(sampled, opts.height));
  if (preview.momentum) {
    console.log(
      `momentum: first ${preview.momentum[0].toPrecision(4)}, min ${Math.min(...preview.momentum).toPrecision(4)}, ` +
        `max ${Math.max(...preview.momentum).toPrecision(4)}`,
    );
  }
  if (opts.out) {
    writeJsonAtomic(opts.out, {
      spec,
      stepsPerEpoch: opts.stepsPerEpoch ?? null,
      ...preview,
    });
    console.log(`wrote ${opts.out}`);
  }
}
