/**
 * Cyclical batch size (Smith 2022, "General Cyclical Training of Neural Networks"): the batch
 * size goes large -> small -> large over the run (the schedules module's cyclical_batch_size
 * preset), so training is "easy" (low gradient noise) at the start and end and "hard" in the
 * middle. The method only says which size comes next (Method.batchSize); the Trainer plans the
 * run's batches from it, draws them from the loader by samples seen, and converts durations
 * through the plan. See README.md.
 */
import {
  cyclicalBatchSizeSchedule,
  type CycleShape,
  type Schedule,
} from '../../schedules/index.js';
import { Event } from '../../train/events.js';
import type { Logger, Method } from '../../train/method.js';
import type { TrainState } from '../../train/state.js';
import { invalidOption } from '../../options.js';
import { maxOf, minOf } from '../../stats.js';

export interface CyclicalBatchSizeOptions {
  /** The large (easy) size at the start and end of the run. Default: the Trainer's batchSize. */
  max?: number;
  /** The small (hard) size at 1/factor of the run. Default: a quarter of max, rounded up. */
  min?: number;
  /** The smallest batch comes at 1/factor of the run's samples (default 2: the middle). */
  factor?: number;
  /** 'triangle' (default, as the paper's code for the other cyclical values) or 'cosine'. */
  shape?: CycleShape;
}

const NAME = 'cyclical-batch-size';

function checkSize(option: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw invalidOption(NAME, option, value, 'a whole number of samples >= 1');
  }
  return value;
}

/** The run's cycle of batch sizes over its samples, its options checked (each names itself). */
function batchSizeCycle(
  opts: CyclicalBatchSizeOptions & { max: number; runSamples: number },
): Schedule {
  const max = checkSize('max', opts.max)!;
  const min = checkSize('min', opts.min) ?? Math.ceil(max / 4);
  if (min > max) {
    throw invalidOption(NAME, 'min', min, `a size <= max (max = ${max})`);
  }
  return cyclicalBatchSizeSchedule({
    large: max,
    small: min,
    totalSteps: opts.runSamples,
    factor: opts.factor,
    shape: opts.shape,
  });
}

/**
 * The functional twin: the batch size after `samplesSeen` of a run of `runSamples` samples.
 * The cycle runs over samples, not steps, because the number of steps is what the batch sizes
 * decide.
 */
export function cyclicalBatchSizeAt(
  samplesSeen: number,
  opts: CyclicalBatchSizeOptions & { max: number; runSamples: number },
): number {
  return batchSizeCycle(opts)(samplesSeen);
}

export class CyclicalBatchSize implements Method {
  readonly name = NAME;
  /** The cycle of the run being planned: the Trainer asks once per batch of the same run. */
  private cycle: { runSamples: number; baseBatchSize: number; sizeAt: Schedule } | null = null;

  constructor(readonly options: CyclicalBatchSizeOptions = {}) {
    const max = checkSize('max', options.max);
    // Checks min, factor and shape now rather than when the Trainer plans the run.
    batchSizeCycle({ ...options, max: max ?? Math.max(1, options.min ?? 1), runSamples: 2 });
  }

  batchSize(samplesSeen: number, runSamples: number, baseBatchSize: number): number {
    const c = this.cycle;
    if (c?.runSamples !== runSamples || c.baseBatchSize !== baseBatchSize) {
      const max = this.options.max ?? baseBatchSize;
      const sizeAt = batchSizeCycle({ ...this.options, max, runSamples });
      this.cycle = { runSamples, baseBatchSize, sizeAt };
    }
    return this.cycle!.sizeAt(samplesSeen);
  }

  match(event: Event): boolean {
    return event === Event.FIT_START || event === Event.BATCH_START;
  }

  apply(event: Event, state: TrainState, log: Logger): void {
    if (event === Event.BATCH_START) {
      state.metrics['cyclical-batch-size/value'] = state.batch!.size;
      return;
    }
    const sizes = state.timeline.batchSizes!;
    log.log(NAME, {
      steps: sizes.length,
      smallest: minOf(sizes),
      largest: maxOf(sizes),
    });
  }
}

export function cyclicalBatchSize(opts: CyclicalBatchSizeOptions = {}): CyclicalBatchSize {
  return new CyclicalBatchSize(opts);
}
