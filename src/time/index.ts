/**
 * Typed training time, Composer style: a duration is a number with a unit, written as a
 * string — `'3ep'` (epochs), `'200ba'` (batches = optimizer steps), `'12000sp'` (samples) or
 * `'0.75dur'` (a fraction of the whole run). A bare number is refused: "100" could mean
 * any of them. A Timeline knows the run's shape and converts any duration to steps.
 *
 * Rounding (stated once, used everywhere): a duration that does not land on a whole step
 * is rounded to the NEAREST step, halves up (`Math.round`). So with 10 steps per epoch,
 * '0.25ep' is 3 steps; with batch size 32, '100sp' is 3 steps (100/32 = 3.125).
 * Fractions of the run (`toFraction`) are not rounded.
 *
 * One batch is one optimizer step here (no gradient accumulation). When the batch size varies
 * from step to step (a batch-size schedule such as cyclical batch size), the timeline holds the
 * size of every batch of the run (`planBatchSizes`) and converts samples and epochs through
 * their running sum.
 */
import type { DataLoader } from '../data/index.js';
import { UsageError } from '../errors.js';

export type TimeUnit = 'ep' | 'ba' | 'sp' | 'dur';

export interface Duration {
  readonly value: number;
  readonly unit: TimeUnit;
}

/** A duration string, a parsed Duration, or a plain number meaning optimizer steps. */
export type DurationLike = string | Duration | number;

const UNIT_NAMES: Readonly<Record<TimeUnit, string>> = {
  ep: 'epochs',
  ba: 'batches',
  sp: 'samples',
  dur: 'fraction of the run',
};

const ACCEPTED_FORMS =
  "a number followed by a unit: '3ep' (epochs), '200ba' (batches), '12000sp' (samples) " +
  "or '0.75dur' (fraction of the whole run)";

const DURATION_PATTERN = /^(\d+(?:\.\d*)?|\.\d+)(?:e([+-]?\d+))?(ep|ba|sp|dur)$/;

function badDuration(text: unknown, why: string): UsageError {
  return new UsageError(
    'ANNEAL_BAD_DURATION',
    `duration ${JSON.stringify(text)} is not valid: ${why}. Expected ${ACCEPTED_FORMS}.`,
  );
}

/** Parses '3ep' | '200ba' | '12000sp' | '0.75dur' (surrounding spaces allowed). */
export function parseDuration(text: string): Duration {
  if (typeof text !== 'string') throw badDuration(text, `got a ${typeof text}, not a string`);
  const match = DURATION_PATTERN.exec(text.trim());
  if (match === null) {
    const why = /^\s*[+-]?[\d.]+(e[+-]?\d+)?\s*$/i.test(text)
      ? 'it has no unit'
      : text.trim().startsWith('-')
        ? 'durations cannot be negative'
        : 'it is not a number followed by a unit';
    throw badDuration(text, why);
  }
  const value = Number(match[1] + (match[2] !== undefined ? `e${match[2]}` : ''));
  const unit = match[3] as TimeUnit;
  if (!Number.isFinite(value)) throw badDuration(text, 'the number is not finite');
  if ((unit === 'ba' || unit === 'sp') && !Number.isInteger(value)) {
    throw badDuration(text, `${UNIT_NAMES[unit]} must be a whole number`);
  }
  return { value, unit };
}

export function formatDuration(d: Duration): string {
  return `${d.value}${d.unit}`;
}

function toDuration(d: string | Duration): Duration {
  if (typeof d === 'string') return parseDuration(d);
  if (d !== null && typeof d === 'object' && d.unit in UNIT_NAMES && Number.isFinite(d.value)) {
    if (d.value < 0) throw badDuration(formatDuration(d), 'durations cannot be negative');
    return d;
  }
  throw badDuration(d, 'it is neither a duration string nor a { value, unit } object');
}

/** 'the duration '2ep' (epochs)' — how errors name a value and its unit. */
function describe(d: DurationLike): string {
  if (typeof d === 'number') return `${d} (optimizer steps)`;
  const parsed = toDuration(d);
  return `'${formatDuration(parsed)}' (${UNIT_NAMES[parsed.unit]})`;
}

export interface TimelineInit {
  /** Optimizer steps (batches) in one epoch. Needed for 'ep' (and for 'sp' with samplesPerEpoch). */
  stepsPerEpoch?: number;
  /** Samples in one batch (the batch size). Needed for 'sp'. */
  samplesPerStep?: number;
  /**
   * Samples in one epoch. Optional: when given, whole epochs of samples convert exactly
   * (a last partial batch counts as one step) and only the remainder is divided by
   * samplesPerStep.
   */
  samplesPerEpoch?: number;
  /** Length of the whole run in steps. Needed for 'dur'. */
  totalSteps?: number;
  /** Length of the whole run as a duration ('10ep'); an alternative to totalSteps. */
  maxDuration?: DurationLike;
  /**
   * The size of every batch of the run, in order, when it varies (from planBatchSizes; needs
   * samplesPerEpoch, excludes stepsPerEpoch and samplesPerStep). totalSteps defaults to its
   * length; beyond it, steps are taken to keep the last batch's size.
   */
  batchSizes?: Int32Array;
}

function checkCount(field: string, value: number | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min) {
    throw new UsageError(
      'ANNEAL_BAD_TIMELINE',
      `timeline ${field} = ${String(value)} is not valid: expected an integer >= ${min}.`,
    );
  }
  return value;
}

function noField(field: string, what: string): UsageError {
  return new UsageError(
    'ANNEAL_DURATION_UNITS',
    `the timeline has no ${field}, so it cannot tell ${what}: build it with ${field}`,
  );
}

/** The shape of a run, for converting durations to optimizer steps. Immutable. */
export class Timeline {
  readonly stepsPerEpoch: number | undefined;
  readonly samplesPerStep: number | undefined;
  readonly samplesPerEpoch: number | undefined;
  readonly totalSteps: number | undefined;
  /** The run's batch sizes when they vary (see TimelineInit.batchSizes), else undefined. */
  readonly batchSizes: Int32Array | undefined;
  /** samplesBefore[i]: samples trained on before step i of a varying-batch run. */
  private readonly samplesBefore: Float64Array | undefined;

  constructor(init: TimelineInit = {}) {
    this.stepsPerEpoch = checkCount('stepsPerEpoch', init.stepsPerEpoch, 1);
    this.samplesPerStep = checkCount('samplesPerStep', init.samplesPerStep, 1);
    this.samplesPerEpoch = checkCount('samplesPerEpoch', init.samplesPerEpoch, 1);
    this.batchSizes = init.batchSizes;
    if (init.batchSizes !== undefined) {
      const sizes = init.batchSizes;
      if (
        this.samplesPerEpoch === undefined ||
        this.stepsPerEpoch !== undefined ||
        this.samplesPerStep !== undefined ||
        sizes.length === 0 ||
        sizes.some((b) => b < 1)
      ) {
        throw new UsageError(
          'ANNEAL_BAD_TIMELINE',
          'a timeline of varying batch sizes needs samplesPerEpoch and at least one batch of ' +
            'size >= 1, and takes neither stepsPerEpoch nor samplesPerStep',
        );
      }
      this.samplesBefore = new Float64Array(sizes.length + 1);
      sizes.forEach((b, i) => (this.samplesBefore![i + 1] = this.samplesBefore![i] + b));
    }
    let total = checkCount('totalSteps', init.totalSteps ?? init.batchSizes?.length, 0);
    if (init.maxDuration !== undefined) {
      if (typeof init.maxDuration !== 'number' && toDuration(init.maxDuration).unit === 'dur') {
        throw new UsageError(
          'ANNEAL_DURATION_UNITS',
          `the run's length ${describe(init.maxDuration)} cannot be a fraction of itself: ` +
            "give it in 'ep', 'ba' or 'sp'.",
        );
      }
      const fromMax = this.toSteps(init.maxDuration);
      if (total !== undefined && total !== fromMax && init.batchSizes === undefined) {
        throw new UsageError(
          'ANNEAL_BAD_TIMELINE',
          `timeline totalSteps = ${total} disagrees with maxDuration ${describe(init.maxDuration)} ` +
            `= ${fromMax} steps: give only one of them.`,
        );
      }
      total = fromMax;
    }
    this.totalSteps = total;
  }

  /** The timeline of training with `loader`: its batches per epoch, batch size and samples. */
  static ofLoader(
    loader: Pick<DataLoader, 'batchesPerEpoch' | 'batchSize' | 'samplesPerEpoch'>,
    maxDuration?: DurationLike,
  ): Timeline {
    return new Timeline({
      stepsPerEpoch: loader.batchesPerEpoch,
      samplesPerStep: loader.batchSize,
      samplesPerEpoch: loader.samplesPerEpoch,
      maxDuration,
    });
  }

  /**
   * The timeline of a run with `loader` whose batch size follows `batchSizeAt` (a batch-size
   * schedule): the run's length must be in 'ep' or 'sp', since the schedule follows samples.
   */
  static ofSchedule(
    loader: Pick<DataLoader, 'samplesPerEpoch'>,
    maxDuration: DurationLike,
    batchSizeAt: BatchSizeAt,
  ): Timeline {
    const d = typeof maxDuration === 'number' ? null : toDuration(maxDuration);
    if (d === null || (d.unit !== 'ep' && d.unit !== 'sp')) {
      throw new UsageError(
        'ANNEAL_DURATION_UNITS',
        `the run's length ${describe(maxDuration)} is not valid with a batch size that varies: ` +
          "give it in epochs ('3ep') or samples ('12000sp'), which the batch-size schedule follows",
      );
    }
    const samplesPerEpoch = loader.samplesPerEpoch;
    const runSamples = Math.round(d.unit === 'ep' ? d.value * samplesPerEpoch : d.value);
    return new Timeline({
      samplesPerEpoch,
      batchSizes: planBatchSizes(samplesPerEpoch, runSamples, batchSizeAt),
    });
  }

  /** The same timeline with the run's length set (e.g. once the Trainer knows max_duration). */
  withTotal(maxDuration: DurationLike): Timeline {
    return new Timeline({
      stepsPerEpoch: this.stepsPerEpoch,
      samplesPerStep: this.samplesPerStep,
      samplesPerEpoch: this.samplesPerEpoch,
      batchSizes: this.batchSizes,
      maxDuration,
    });
  }

  /**
   * Steps to train `d` more from step `step`. The same as toSteps(d), except that with a varying
   * batch size epochs and samples count on from the samples seen at `step`.
   */
  stepsFrom(step: number, d: DurationLike): number {
    const parsed = typeof d === 'number' ? null : toDuration(d);
    if (this.samplesBefore === undefined || (parsed?.unit !== 'ep' && parsed?.unit !== 'sp')) {
      return this.toSteps(d);
    }
    const samples = parsed.unit === 'ep' ? parsed.value * this.samplesPerEpoch! : parsed.value;
    return Math.round(this.stepsOfSamples(this.samplesAt(step) + samples)) - step;
  }

  /** Whether the batch size varies from step to step. */
  get varyingBatch(): boolean {
    return this.batchSizes !== undefined;
  }

  /** The size of batch `step` (0-based) before any cut at an epoch's end. */
  batchSizeAt(step: number): number {
    if (this.batchSizes !== undefined) {
      return this.batchSizes[Math.min(step, this.batchSizes.length - 1)];
    }
    if (this.samplesPerStep === undefined) throw noField('samplesPerStep', `batch ${step}'s size`);
    return this.samplesPerStep;
  }

  /** Samples trained on in the first `steps` steps (a last partial batch of an epoch counts as it is). */
  samplesAt(steps: number): number {
    const before = this.samplesBefore;
    if (before !== undefined) {
      const last = before.length - 1;
      return steps <= last
        ? before[steps]
        : before[last] + (steps - last) * this.batchSizes![last - 1];
    }
    for (const field of ['stepsPerEpoch', 'samplesPerStep', 'samplesPerEpoch'] as const) {
      if (this[field] === undefined) throw noField(field, `the samples of ${steps} steps`);
    }
    const epochs = Math.floor(steps / this.stepsPerEpoch!);
    return (
      epochs * this.samplesPerEpoch! + (steps - epochs * this.stepsPerEpoch!) * this.samplesPerStep!
    );
  }

  /** Epochs of data in the first `steps` steps (not rounded). */
  epochsAt(steps: number): number {
    if (this.samplesPerEpoch === undefined) {
      if (this.stepsPerEpoch === undefined) {
        throw noField('stepsPerEpoch', `the epochs of ${steps} steps`);
      }
      return steps / this.stepsPerEpoch;
    }
    return this.samplesAt(steps) / this.samplesPerEpoch;
  }

  /** Exact steps to train on `samples` samples of a varying-batch run (a step counts in part). */
  private stepsOfSamples(samples: number): number {
    const before = this.samplesBefore!;
    const last = before.length - 1;
    if (samples >= before[last]) {
      return last + (samples - before[last]) / this.batchSizes![last - 1];
    }
    let lo = 0; // the last step that starts at or before `samples`
    let hi = last;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (before[mid] <= samples) lo = mid;
      else hi = mid;
    }
    return lo + (samples - before[lo]) / this.batchSizes![lo];
  }

  /** Exact (unrounded) number of steps, or the name of the timeline field that is missing. */
  private exactSteps(d: Duration): number | string {
    switch (d.unit) {
      case 'ba':
        return d.value;
      case 'ep':
        if (this.samplesBefore !== undefined) {
          return this.stepsOfSamples(d.value * this.samplesPerEpoch!);
        }
        return this.stepsPerEpoch === undefined ? 'stepsPerEpoch' : d.value * this.stepsPerEpoch;
      case 'dur':
        return this.totalSteps === undefined ? 'totalSteps' : d.value * this.totalSteps;
      case 'sp': {
        if (this.samplesBefore !== undefined) return this.stepsOfSamples(d.value);
        if (this.samplesPerStep === undefined) return 'samplesPerStep';
        if (this.samplesPerEpoch === undefined || this.stepsPerEpoch === undefined) {
          return d.value / this.samplesPerStep;
        }
        const epochs = Math.floor(d.value / this.samplesPerEpoch);
        const rest = d.value - epochs * this.samplesPerEpoch;
        return epochs * this.stepsPerEpoch + rest / this.samplesPerStep;
      }
    }
  }

  private missingField(d: DurationLike, field: string, other?: DurationLike): UsageError {
    const what =
      other === undefined
        ? `${describe(d)} cannot be converted to optimizer steps`
        : `cannot compare ${describe(d)} with ${describe(other)}`;
    const hint =
      field === 'totalSteps'
        ? "the run's total length is not known yet: set the run's length first (maxDuration)"
        : `the timeline has no ${field}: build it with ${field}`;
    const fallback = other === undefined ? "give it in 'ba' (steps)" : 'give both in the same unit';
    return new UsageError('ANNEAL_DURATION_UNITS', `${what}: ${hint}, or ${fallback}.`);
  }

  /** Converts to whole optimizer steps (nearest step, halves up). Numbers are steps already. */
  toSteps(d: DurationLike): number {
    return Math.round(this.exact(d));
  }

  private exact(d: DurationLike, other?: DurationLike): number {
    if (typeof d === 'number') {
      if (!Number.isInteger(d) || d < 0) {
        throw badDuration(d, 'a plain number means optimizer steps and must be an integer >= 0');
      }
      return d;
    }
    const steps = this.exactSteps(toDuration(d));
    if (typeof steps === 'string') throw this.missingField(d, steps, other);
    return steps;
  }

  /** Fraction of the whole run (not rounded): '0.5dur' -> 0.5, '2ep' of 10 epochs -> 0.2. */
  toFraction(d: DurationLike): number {
    if (typeof d !== 'number' && toDuration(d).unit === 'dur') return toDuration(d).value;
    const steps = this.exact(d);
    if (this.totalSteps === undefined) throw this.missingField(d, 'totalSteps');
    if (this.totalSteps === 0) {
      throw new UsageError(
        'ANNEAL_BAD_TIMELINE',
        `${describe(d)} cannot be a fraction of a run of 0 steps.`,
      );
    }
    return steps / this.totalSteps;
  }

  /**
   * -1, 0 or 1 as a is shorter than, as long as, or longer than b. Same units compare
   * directly; different units are converted to exact steps, and an impossible conversion
   * throws an error that names both values and units.
   */
  compare(a: DurationLike, b: DurationLike): -1 | 0 | 1 {
    const da = typeof a === 'number' ? null : toDuration(a);
    const db = typeof b === 'number' ? null : toDuration(b);
    const [x, y] =
      da !== null && db !== null && da.unit === db.unit
        ? [da.value, db.value]
        : [this.exact(a, b), this.exact(b, a)];
    return x < y ? -1 : x > y ? 1 : 0;
  }
}

/** The batch size to draw next, given the samples trained on and the run's length in samples. */
export type BatchSizeAt = (samplesSeen: number, runSamples: number) => number;

/**
 * The size of every batch of a run of `runSamples` samples whose batch size follows
 * `batchSizeAt`: each batch is what it asks for, cut at the end of its epoch (no batch spans two
 * epochs, as with a fixed size, so every epoch is the whole data set once) and of the run.
 */
export function planBatchSizes(
  samplesPerEpoch: number,
  runSamples: number,
  batchSizeAt: BatchSizeAt,
): Int32Array {
  if (!Number.isInteger(runSamples) || runSamples < 1) {
    throw new UsageError(
      'ANNEAL_BAD_TIMELINE',
      `a run of ${runSamples} samples is not valid: expected at least one sample`,
    );
  }
  const sizes: number[] = [];
  for (let seen = 0; seen < runSamples;) {
    const asked = batchSizeAt(seen, runSamples);
    if (!Number.isInteger(asked) || asked < 1) {
      throw new UsageError(
        'ANNEAL_BAD_BATCH_SIZE',
        `the batch-size schedule gave ${asked} after ${seen} of ${runSamples} samples: ` +
          'expected a positive integer',
      );
    }
    const epochLeft = samplesPerEpoch - (seen % samplesPerEpoch);
    const size = Math.min(asked, epochLeft, runSamples - seen);
    sizes.push(size);
    seen += size;
  }
  return Int32Array.from(sizes);
}

/** Compares two durations; without a timeline only the same units can be compared. */
export function compareDurations(
  a: DurationLike,
  b: DurationLike,
  timeline: Timeline = new Timeline(),
): -1 | 0 | 1 {
  return timeline.compare(a, b);
}
