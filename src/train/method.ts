/**
 * Methods change training; callbacks watch it (DESIGN.md, "Trainer").
 *
 * A Method is Composer's Algorithm: `match(event, state)` says whether it acts on an event and
 * `apply(event, state, log)` acts, synchronously (some events fire inside the gradient tape).
 * Its `stateDict()` goes into checkpoints; Float32Arrays inside it are stored as tensors.
 *
 * A Callback is tfjs-layers' base callback: a plain object of optional, possibly async hooks,
 * awaited in order. Callbacks see every event except those inside the gradient tape.
 */
import type { PackableValue } from './checkpoint.js';
import type { Event } from './events.js';
import type { TrainState } from './state.js';

/** What a method's stateDict may hold: JSON values and Float32Arrays, nested. */
export type StateValue = PackableValue;

export type MethodState = { [key: string]: StateValue };

/** A record a method or the Trainer logs; stamped with the time it was logged at. */
export interface LogRecord {
  event: string;
  step: number;
  epoch: number;
  [key: string]: unknown;
}

export interface Logger {
  /** Logs a record (e.g. 'nan-guard', { segments }); callbacks receive it through onLog. */
  log(event: string, data?: Record<string, unknown>): void;
}

export interface Method {
  /** Unique among a Trainer's methods (it keys the method's state in checkpoints). */
  readonly name: string;
  match(event: Event, state: TrainState): boolean;
  apply(event: Event, state: TrainState, log: Logger): void;
  stateDict?(): MethodState;
  loadStateDict?(state: MethodState): void;
  /**
   * For a method that varies the batch size (cyclical batch size): the size of the next batch,
   * a pure function of the samples trained on so far, the run's length in samples and the
   * Trainer's batchSize. The Trainer plans the run's batches from it when it is built (so the
   * timeline, schedules and resumes follow it); at most one method of a Trainer may have it.
   */
  batchSize?(samplesSeen: number, runSamples: number, baseBatchSize: number): number;
  /** Frees what the method holds (kernel vectors); called by Trainer.dispose(). */
  dispose?(): void;
}

export type Hook = (state: TrainState) => void | Promise<void>;

export interface Callback {
  onInit?: Hook;
  onFitStart?: Hook;
  onEpochStart?: Hook;
  onBatchStart?: Hook;
  onBatchEnd?: Hook;
  onEpochEnd?: Hook;
  onEvalStart?: Hook;
  onEvalEnd?: Hook;
  onFitEnd?: Hook;
  /** After a checkpoint is written (state.lastCheckpoint is its path). */
  onCheckpoint?: Hook;
  /** Every event a callback can see (all but those inside the gradient tape). */
  onEvent?(event: Event, state: TrainState): void | Promise<void>;
  /** Records logged by methods (and the Trainer's own notes, e.g. 'resume'). */
  onLog?(record: LogRecord, state: TrainState): void | Promise<void>;
}
