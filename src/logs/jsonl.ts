/**
 * JSON Lines logs: one record per line, appended and flushed with each write so a killed run
 * keeps every line written before the kill (a reader skips a torn last line). JsonlLogger is
 * the Trainer callback that writes a run's log.jsonl.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import type { Callback, LogRecord } from '../train/method.js';
import type { TrainState } from '../train/state.js';

export class JsonlLog {
  constructor(readonly path: string) {}

  write(record: Record<string, unknown>): void {
    appendFileSync(this.path, JSON.stringify({ time: new Date().toISOString(), ...record }) + '\n');
  }
}

/** Reads a JSONL file, skipping a torn final line left by a kill. */
export function readJsonl(path: string): Record<string, unknown>[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const records: Record<string, unknown>[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === '') continue;
    try {
      records.push(JSON.parse(lines[i]));
    } catch (e) {
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l !== '')) throw e;
    }
  }
  return records;
}

export interface JsonlLoggerOptions {
  /** Write a batch_end record every this many steps (default 50; 1 logs every step). */
  everySteps?: number;
  /** Extra fields of the fit_start record (the run's configuration, say). */
  meta?: Record<string, unknown>;
}

/** Time, position and learning rate: the fields every record of the logger carries. */
function when(state: TrainState): Record<string, unknown> {
  const ts = state.timestamp;
  return {
    step: ts.step,
    epoch: ts.epoch,
    batchInEpoch: ts.batchInEpoch,
    samples: ts.samples,
    trainSeconds: ts.trainSeconds,
    evalSeconds: ts.evalSeconds,
    lr: state.optimizer.hyper.lr,
  };
}

/**
 * A Trainer callback writing one record per `everySteps` steps (loss, lr, samples/s over the
 * window), per epoch and per evaluation (metrics), per checkpoint, per method log record, and at
 * fit start and end. A resumed run appends: records of the steps redone after the checkpoint
 * repeat, and the last record of a step is the one that counts.
 */
export class JsonlLogger implements Callback {
  readonly log: JsonlLog;
  readonly everySteps: number;
  private window = { samples: 0, seconds: 0 };

  constructor(
    path: string,
    private readonly opts: JsonlLoggerOptions = {},
  ) {
    this.log = new JsonlLog(path);
    this.everySteps = opts.everySteps ?? 50;
  }

  onFitStart(state: TrainState): void {
    this.window = { samples: state.timestamp.samples, seconds: state.timestamp.trainSeconds };
    this.log.write({
      event: 'fit_start',
      ...when(state),
      maxSteps: state.maxSteps,
      ...this.opts.meta,
    });
  }

  onBatchEnd(state: TrainState): void {
    const ts = state.timestamp;
    if (ts.step % this.everySteps !== 0) return;
    const seconds = ts.trainSeconds - this.window.seconds;
    const samplesPerSecond = seconds > 0 ? (ts.samples - this.window.samples) / seconds : null;
    this.window = { samples: ts.samples, seconds: ts.trainSeconds };
    this.log.write({ event: 'batch_end', ...when(state), loss: state.lossValue, samplesPerSecond });
  }

  onEpochEnd(state: TrainState): void {
    this.log.write({
      event: 'epoch_end',
      ...when(state),
      ...trainingMetrics(state),
      samplesPerSecond: rate(state),
    });
  }

  onEvalEnd(state: TrainState): void {
    this.log.write({ event: 'eval_end', ...when(state), ...state.metrics });
  }

  onCheckpoint(state: TrainState): void {
    this.log.write({ event: 'checkpoint', ...when(state), path: state.lastCheckpoint });
  }

  onLog(record: LogRecord): void {
    this.log.write({ ...record });
  }

  onFitEnd(state: TrainState): void {
    this.log.write({
      event: 'fit_end',
      ...when(state),
      ...state.metrics,
      samplesPerSecond: rate(state),
      runComplete: state.runComplete,
      stopReason: state.stopReason,
    });
  }
}

/** Metrics without the 'eval/' ones, which belong to the latest evaluation, not to this time. */
export function trainingMetrics(state: TrainState): Record<string, number> {
  return Object.fromEntries(Object.entries(state.metrics).filter(([k]) => !k.startsWith('eval/')));
}

function rate(state: TrainState): number | null {
  const ts = state.timestamp;
  return ts.trainSeconds > 0 ? ts.samples / ts.trainSeconds : null;
}
